// Progressive enhancement of the upload page: drag-and-drop, a progress card read from the
// file before upload, focus and announcements for the outcome, and the automatic download.
// Everything here is optional: without it the page is a plain form post.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // Django's JavaScriptCatalog (/i18n/catalog.js, loaded first) defines gettext and
  // interpolate in the page's language; English stands in if it failed to load.
  var _ = window.gettext || function (text) { return text; };
  var fill = window.interpolate || function (text, values) {
    return text.replace(/%\((\w+)\)s/g, function (match, key) { return values[key]; });
  };
  // A file name or code inside a right-to-left sentence keeps its own order (bidi isolates);
  // left-to-right text needs none.
  var RTL = document.documentElement.dir === "rtl";
  function isolate(text) { return RTL ? "\u2068" + text + "\u2069" : text; }
  var KINDS = { activation: _("Activation request"), deactivation: _("Deactivation request") };

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  }

  // Reads the request type and product from a .req text, as the portal does on the server.
  function describeRequest(text) {
    try {
      var clean = text.replace(/^\uFEFF/, "").replace(/\s+/g, "");
      var doc = JSON.parse(new TextDecoder().decode(
        Uint8Array.from(atob(clean), function (c) { return c.charCodeAt(0); })));
      var fields = (doc && typeof doc.request === "object" && doc.request) ? doc.request : doc;
      return { kind: KINDS[fields.request] || "", product: fields.product || "" };
    } catch (e) {
      return { kind: "", product: "" };
    }
  }

  function line(className, text) {
    var p = document.createElement("p");
    p.className = className;
    p.textContent = text;
    return p;
  }

  function showProgress(outcome, name, details) {
    var card = document.createElement("section");
    card.className = "card panel progress-card";
    card.setAttribute("aria-busy", "true");
    card.setAttribute("aria-labelledby", "progress-heading");
    var heading = document.createElement("h2");
    heading.id = "progress-heading";
    heading.textContent = _("Sending your request…");
    card.appendChild(heading);
    card.appendChild(line("file-name", fill(_("File: %(name)s"), { name: isolate(name) }, true)));
    var meta = line("meta", "");
    meta.dataset.requestMeta = "";
    card.appendChild(meta);
    var status = line("meta", _("Uploading…"));
    status.dataset.requestStatus = "";
    card.appendChild(status);
    var bar = document.createElement("div");
    bar.className = "progress-bar";
    bar.appendChild(document.createElement("span"));
    card.appendChild(bar);
    outcome.replaceChildren(card);
    details.then(function (info) {
      var parts = [];
      if (info.kind) parts.push(info.kind);
      if (info.product) parts.push(fill(_("product %(code)s"), { code: isolate(info.product) }, true));
      meta.textContent = parts.join(", ");
    });
    announce(fill(_("Sending %(name)s to the licensing service."), { name: isolate(name) }, true));
  }

  function requestDetails(form) {
    var input = form.querySelector("input[type=file]");
    var file = input && input.files && input.files[0];
    if (file) {
      return { name: file.name, details: file.text().then(describeRequest, function () { return {}; }) };
    }
    var text = form.querySelector("textarea").value;
    return { name: _("pasted text"), details: Promise.resolve(describeRequest(text)) };
  }

  function enhanceDropzone(form) {
    var zone = form.querySelector("[data-dropzone]");
    var input = form.querySelector("input[type=file]");
    if (!zone || !input) return;
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
      input.dispatchEvent(new Event("change", { bubbles: true }));
    });
    // Choosing a file sends it: one step fewer for the user.
    input.addEventListener("change", function () {
      // Several files are a batch: a plain post to its check step (portal/batches).
      if (input.files.length > 1 && form.dataset.batchUrl) {
        form.action = form.dataset.batchUrl;
        form.submit();
        return;
      }
      if (input.files.length) form.requestSubmit();
    });
  }

  function onAfterSwap(event) {
    var outcome = event.detail.target;
    if (!outcome || outcome.id !== "outcome") return;
    var panel = outcome.querySelector("[data-announce]");
    if (panel) announce(panel.getAttribute("data-announce"));
    var heading = outcome.querySelector("[data-focus]");
    if (heading) heading.focus();
    var download = outcome.querySelector("[data-auto-download]");
    if (download) {
      download.removeAttribute("data-auto-download");
      download.click();
    }
    var form = document.getElementById("upload-form");
    var textarea = form && form.querySelector("textarea");
    // The pasted text may carry a password (user-based files): do not leave it on screen.
    if (textarea && outcome.querySelector(".panel-success")) textarea.value = "";
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload-form");
    if (!form) return;
    enhanceDropzone(form);
    form.addEventListener("htmx:beforeRequest", function () {
      var request = requestDetails(form);
      showProgress(document.getElementById("outcome"), request.name, request.details);
    });
    form.addEventListener("htmx:xhr:progress", function (event) {
      var status = document.querySelector("[data-request-status]");
      if (!status || !event.detail.lengthComputable) return;
      status.textContent = event.detail.loaded >= event.detail.total
        ? _("Waiting for the licensing service…")
        : fill(_("Uploading… %(percent)s"), {
          percent: Math.round((100 * event.detail.loaded) / event.detail.total) + "%"
        }, true);
    });
    form.addEventListener("htmx:sendError", function () {
      var outcome = document.getElementById("outcome");
      var card = document.createElement("section");
      card.className = "card panel panel-error";
      card.setAttribute("aria-labelledby", "outcome-heading");
      var heading = document.createElement("h2");
      heading.id = "outcome-heading";
      heading.tabIndex = -1;
      heading.textContent = _("The portal could not be reached");
      card.appendChild(heading);
      card.appendChild(line("message", _("Check this computer’s internet connection, then try again.")));
      var retry = document.createElement("button");
      retry.type = "submit";
      retry.className = "button primary";
      retry.setAttribute("form", "upload-form");
      retry.textContent = _("Try again");
      card.appendChild(retry);
      outcome.replaceChildren(card);
      heading.focus();
      announce(_("The portal could not be reached. Check this computer’s internet connection, then try again."));
    });
    document.body.addEventListener("htmx:afterSwap", onAfterSwap);
  });
})();
