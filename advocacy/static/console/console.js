// The staff console's own script (no inline scripts: the CSP allows only files from here).
// htmx requests carry the CSRF token from the page's meta tag, as Flask-WTF expects.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) {
    event.detail.headers["X-CSRFToken"] = meta.getAttribute("content");
  }
});

// Forms that change something hard to undo ask first: <form data-confirm="Revoke ...?">.
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
