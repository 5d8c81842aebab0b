// The Entente console's own script: an upload progress bar. Everything
// works without it (the form posts normally); htmx does the rest.
"use strict";
document.addEventListener("htmx:xhr:progress", function (event) {
  var form = event.target.closest ? event.target.closest("form") : null;
  if (!form) return;
  var bar = form.querySelector("progress");
  if (bar && event.detail.lengthComputable) {
    bar.max = event.detail.total;
    bar.value = event.detail.loaded;
    bar.hidden = false;
    bar.textContent = Math.round((100 * event.detail.loaded) / event.detail.total) + "%";
  }
});
