// Progressive enhancement of the batch pages: a dropped set of files is taken like chosen
// ones and goes to the check step at once (nothing is sent before the confirmation), and
// the end of a running batch is announced. Without it the pages are plain form posts and a
// self-refreshing table.
(function () {
  "use strict";

  function enhanceBatchForm(form) {
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("is-dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("is-dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (!event.dataTransfer || !event.dataTransfer.files.length) return;
      input.files = event.dataTransfer.files;
      form.submit();
    });
    input.addEventListener("change", function () {
      if (input.files.length) form.submit();
    });
  }

  // The table is swapped in whole (outerHTML) every second: look it up again once settled.
  function onBatchSettle() {
    var progress = document.getElementById("batch-progress");
    if (!progress || progress.getAttribute("data-batch-state") !== "finished") return;
    if (progress.hasAttribute("data-announced")) return;
    progress.setAttribute("data-announced", "");
    var status = progress.querySelector("[data-announce]");
    var region = document.getElementById("announcer");
    if (status && region) region.textContent = status.getAttribute("data-announce");
    var zip = document.getElementById("batch-zip");
    if (zip) zip.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("batch-form");
    if (form) enhanceBatchForm(form);
    document.body.addEventListener("htmx:afterSettle", onBatchSettle);
  });
})();
