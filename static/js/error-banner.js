/* The page's error banner (#error with #error-text and #error-close): show a message or hide it. The
   message is mirrored on <main data-error> so tests and styles can see it. */

export function errorBanner(main) {
  const box = document.getElementById("error");
  const text = document.getElementById("error-text");
  const hide = () => {
    box.hidden = true;
    delete main.dataset.error;
  };
  const show = (error) => {
    const message = typeof error === "string" ? error : error.message;
    text.textContent = message;
    box.hidden = false;
    main.dataset.error = message;
  };
  document.getElementById("error-close").addEventListener("click", hide);
  return { show, hide };
}
