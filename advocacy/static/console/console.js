// The staff console's own script (no inline scripts: the CSP allows only files from here).
// htmx requests carry the CSRF token from the page's meta tag, as Flask-WTF expects.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
  }
});
