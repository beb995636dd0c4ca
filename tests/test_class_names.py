"""Class names in the page's language: a model card may name its classes in other languages
(``"class_names": {"zh-CN": [...]}``), served by GET /api/model and GET /api/models beside ``classes``."""

from __future__ import annotations

from types import SimpleNamespace

from fastapi.testclient import TestClient

from app.routes.model import class_names
from app.schemas.network import ModelInfo, ModelSummary
from app.training.train import DATASETS

FASHION_ZH = ["T恤/上衣", "裤子", "套头衫", "连衣裙", "外套", "凉鞋", "衬衫", "运动鞋", "包", "短靴"]


def test_fashion_vgg_names_its_classes_in_chinese(client: TestClient) -> None:
    info = ModelInfo.model_validate(client.get("/api/model?model=fashion_vgg").json())
    assert info.classes[0] == "T-shirt/top" and info.classes[-1] == "Ankle boot"
    assert info.class_names == {"zh-CN": FASHION_ZH}
    assert len(info.class_names["zh-CN"]) == len(info.classes)


def test_the_models_list_carries_them_and_a_digit_model_has_none(client: TestClient) -> None:
    summaries = {s.name: s for s in (ModelSummary.model_validate(m) for m in client.get("/api/models").json())}
    assert summaries["fashion_vgg"].class_names == {"zh-CN": FASHION_ZH}
    for name in ("lenet_bn", "lenet"):
        assert summaries[name].class_names == {}, name  # digits are digits in every language
    assert client.get("/api/model").json()["class_names"] == {}


def test_training_writes_the_same_names_into_a_new_card() -> None:
    assert DATASETS["fashion-mnist"]["class_names"] == {"zh-CN": FASHION_ZH}
    assert "class_names" not in DATASETS["mnist"]


def test_a_card_naming_too_few_classes_is_not_served() -> None:
    def served(names: object) -> SimpleNamespace:
        return SimpleNamespace(card={"class_names": names}, model=SimpleNamespace(classes=["cat", "dog", "fox"]))

    assert class_names(served({"zh-CN": ["猫", "狗", "狐狸"], "de": ["Katze", "Hund"]})) == {
        "zh-CN": ["猫", "狗", "狐狸"]
    }
    assert class_names(served({"zh-CN": ["猫", "", "狐狸"]})) == {}
    assert class_names(served(["猫", "狗", "狐狸"])) == {}
    assert class_names(served(None)) == {}
