"""The colour photos bundled for the conv-layer lab (static/img/, licences in static/img/README.md)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from PIL import Image

from app.config import PROJECT_ROOT

IMG_DIR = PROJECT_ROOT / "static" / "img"


@dataclass(frozen=True)
class Photo:
    id: str
    title: str
    credit: str
    license: str

    @property
    def url(self) -> str:
        return f"/static/img/{self.id}.png"

    def as_dict(self, root: str = "") -> dict:
        """With its ``url`` under ``root``, the path prefix the app is served under (app/serving/root_path.py)."""
        return {**asdict(self), "url": root + self.url}


PHOTOS = {
    p.id: p
    for p in (
        Photo("cat", "Chelsea the cat", "Stefan van der Walt, from scikit-image's sample data", "CC0 1.0"),
        Photo("coffee", "A cup of coffee", "Rachel Michetti, from scikit-image's sample data", "CC0 1.0"),
        Photo("astronaut", "The astronaut Eileen Collins", "NASA, from scikit-image's sample data", "public domain"),
    )
}


def load(photo_id: str) -> Image.Image:
    """The photo ``photo_id`` (256x256 RGB); KeyError naming the photos for an unknown id."""
    if photo_id not in PHOTOS:
        raise KeyError(f"photo: unknown photo {photo_id!r}; photos are {', '.join(PHOTOS)}")
    with Image.open(IMG_DIR / f"{photo_id}.png") as img:
        return img.convert("RGB")
