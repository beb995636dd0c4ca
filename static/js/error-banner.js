/**
 * Saying what went wrong, in words, the same way on every page.
 *
 * The page's banner (templates/_error_banner.html: #error, #error-text, #error-close), a toast at the top
 * of the window:
 *
 *   const errors = errorBanner(main);
 *   errors.show(error);                 // an Error (its message) or a string
 *   errors.show(message, "link");       // tagged with where it came from...
 *   errors.hide("input");               // ...so that a success elsewhere leaves it up; hide() hides any
 *
 * A section's own alert line (an element with role="alert", hidden until needed), for a page whose
 * sections load and fail on their own (the BatchNorm page):
 *
 *   const report = errorLine(section, section.querySelector(".bn-error"));
 *   report(error);
 *
 * The message is mirrored on data-error (and the tag on data-error-origin) of <main> or the section, so
 * tests and styles can see it. A banner the server rendered visible (a problem with the page's address,
 * data-origin="link") is adopted as shown, tagged "link": only the reader or a newer error takes it away.
 */

/** The words of an Error, or the string itself. */
export function messageOf(error) {
  return typeof error === "string" ? error : error.message;
}

/** The page's banner; `main` carries data-error while it shows. */
export function errorBanner(main) {
  const box = document.getElementById("error");
  const text = document.getElementById("error-text");
  if (!box.hidden) {
    // The server found a problem with the page's address (?model=, ?sample=) and shows it from the start.
    main.dataset.error = text.textContent;
    main.dataset.errorOrigin = box.dataset.origin || "link";
  }

  /** Show `error`; `origin` names where it came from (none: any later hide() takes it away). */
  const show = (error, origin = null) => {
    const message = messageOf(error);
    text.textContent = message;
    box.hidden = false;
    main.dataset.error = message;
    if (origin) main.dataset.errorOrigin = origin;
    else delete main.dataset.errorOrigin;
  };

  /** Hide the banner if its error came from one of `origins` or from nowhere in particular (all, with none). */
  const hide = (...origins) => {
    const origin = main.dataset.errorOrigin;
    if (origins.length && origin && !origins.includes(origin)) return;
    box.hidden = true;
    delete main.dataset.error;
    delete main.dataset.errorOrigin;
  };

  document.getElementById("error-close").addEventListener("click", () => hide());
  return { show, hide };
}

/** A section's alert line: returns `report(error)`, which shows the message there. */
export function errorLine(section, line) {
  return (error) => {
    const message = messageOf(error);
    line.textContent = message;
    line.hidden = false;
    section.dataset.error = message;
  };
}
