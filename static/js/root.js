/**
 * The path prefix the app is served under behind a reverse proxy ("/convlens"; "" at the site's root), from
 * <html data-root> (the server's ASGI root_path). Every address the pages build starts with it:
 *
 *   rooted("/api/models")   // "/convlens/api/models"
 *   rooted("/?sample=3")    // "/convlens/?sample=3"
 */

const ROOT = document.documentElement.dataset.root || "";

/** `path` (absolute on this site: "/api/...", "/static/...", "/kernels") under the prefix; anything else as it is. */
export function rooted(path) {
  return typeof path === "string" && path.startsWith("/") && !path.startsWith("//") ? ROOT + path : path;
}
