// The Express Configure buttons of an app instance: start a flow through the console's JSON
// endpoint, open the tenant's sign-in in a window of its own, poll the flow's outcome, and show
// it: the configured result, or the errorSummary and every cause with its remediation.
// Everything is built with textContent: nothing the server or the tenant says is parsed as HTML.
(function () {
  "use strict";

  var POLL_MS = 1000;
  var GIVE_UP_MS = 10 * 60 * 1000;
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrfToken = meta ? meta.getAttribute("content") : "";

  function element(tag, text, className) {
    var node = document.createElement(tag);
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    if (className) {
      node.className = className;
    }
    return node;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { window.setTimeout(resolve, ms); });
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch (ignored) {
      return {};
    }
  }

  function showCauses(outcome, body) {
    var box = element("div", null, "alert ec-failure");
    box.setAttribute("role", "alert");
    box.appendChild(element("p", body.errorSummary || "Express Configure failed.", "ec-summary"));
    var causes = Array.isArray(body.errorCauses) ? body.errorCauses : [];
    if (causes.length > 0) {
      var list = element("ul", null, "ec-causes");
      causes.forEach(function (cause) {
        var item = element("li", null, "ec-cause");
        var what = element("p");
        what.appendChild(element("code", cause.reason || "unknown"));
        what.appendChild(document.createTextNode(" " + (cause.errorSummary || "")));
        item.appendChild(what);
        var fix = element("p", null, "ec-remediation");
        fix.appendChild(element("strong", "Fix: "));
        fix.appendChild(document.createTextNode(cause.remediation || ""));
        item.appendChild(fix);
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    outcome.replaceChildren(box);
  }

  function fact(list, label, value) {
    if (value === undefined || value === null || value === "") {
      return;
    }
    list.appendChild(element("dt", label));
    var dd = element("dd");
    dd.appendChild(element("code", Array.isArray(value) ? value.join(", ") : value));
    list.appendChild(dd);
  }

  function showResult(outcome, kind, result) {
    var box = element("div", null, "success ec-success");
    box.appendChild(element("p", kind === "scim"
      ? "Express Configure SCIM succeeded."
      : "Express Configure SSO & UL succeeded.", "ec-summary"));
    var list = element("dl", null, "facts");
    result = result || {};
    if (kind === "scim") {
      fact(list, "SCIM base URL", result.scim_base_url);
      fact(list, "Token", result.token_id);
      fact(list, "Valid until", result.valid_until);
    } else {
      var connection = result.connection || {};
      var organization = result.organization || {};
      fact(list, "Connection", connection.name && connection.name + " (" + connection.id + ")");
      fact(list, "Organization", organization.name && organization.name + " (" + organization.id + ")");
      fact(list, "Initiate login URI", result.initiate_login_uri);
      fact(list, "Universal Logout endpoint", result.global_token_revocation_endpoint);
      fact(list, "Domains", result.domain_aliases);
    }
    box.appendChild(list);
    outcome.replaceChildren(box);
    markRefreshed(kind);
  }

  // What the page showed of the stored configuration is now out of date: say so, with a link
  // that reloads it, rather than leave "Not configured yet" beside a success.
  function markRefreshed(kind) {
    document.querySelectorAll('[data-refreshed-by="' + kind + '"]').forEach(function (node) {
      var note = element("p", "Express Configure changed this. ", "ec-refreshed");
      var link = element("a", "Reload the page to see it");
      link.href = window.location.pathname;
      note.appendChild(link);
      note.appendChild(document.createTextNode("."));
      node.replaceWith(note);
    });
  }

  function showProblem(outcome, message) {
    var box = element("div", null, "alert");
    box.setAttribute("role", "alert");
    box.appendChild(element("p", message));
    outcome.replaceChildren(box);
  }

  async function poll(widget, attempt, flowId, popup, button, status, outcome) {
    var url = widget.dataset.flowsUrl + encodeURIComponent(flowId);
    var started = Date.now();
    var toldClosed = false;
    while (Date.now() - started < GIVE_UP_MS) {
      await sleep(POLL_MS);
      if (widget.attempt !== attempt) {
        return false;
      }
      var response = await fetch(url, {
        credentials: "same-origin",
        headers: { "Accept": "application/json" }
      });
      var body = await readJson(response);
      if (widget.attempt !== attempt) {
        return false;
      }
      if (response.status === 202) {
        // A closed window may only look closed (a tenant page isolating itself), so the
        // outcome is still awaited; the button is offered again in case it really was closed.
        if (popup && popup.closed && !toldClosed) {
          toldClosed = true;
          button.disabled = false;
          button.removeAttribute("aria-busy");
          status.textContent = "Waiting for the tenant's answer. If you closed its window before finishing, start again.";
        }
        continue;
      }
      status.textContent = "";
      if (response.status === 200) {
        showResult(outcome, widget.dataset.kind, body.result);
      } else if (response.status === 403 && body.errorCode === "oauth_error") {
        showCauses(outcome, body);
      } else {
        showProblem(outcome, body.errorSummary || "The console could not read the outcome (HTTP " + response.status + ").");
      }
      return true;
    }
    status.textContent = "";
    showProblem(outcome, "This attempt expired. Start Express Configure again.");
    return true;
  }

  async function run(widget, button) {
    var status = widget.querySelector("[data-status]");
    var outcome = widget.querySelector("[data-outcome]");
    var attempt = (widget.attempt || 0) + 1;
    widget.attempt = attempt;
    var settled = true;
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
    outcome.replaceChildren();
    status.textContent = "Starting Express Configure…";
    // A window left by an earlier attempt is closed: each attempt has a window of its own (a named
    // window would be reused while the earlier one is still closing, and nothing would open).
    if (widget.popup && !widget.popup.closed) {
      widget.popup.close();
    }
    // Opened now, while the click still counts as the person's, so no blocker stops it.
    var popup = window.open("", "_blank", "popup,width=560,height=760");
    widget.popup = popup;
    if (popup) {
      popup.opener = null;
    }
    try {
      var response = await fetch(widget.dataset.startUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRF-Token": csrfToken }
      });
      var body = await readJson(response);
      if (response.status !== 200 || !body.authorizeUrl) {
        status.textContent = "";
        if (response.status === 403 && body.errorCode === "oauth_error") {
          showCauses(outcome, body);
        } else {
          showProblem(outcome, body.errorSummary || "Express Configure could not start (HTTP " + response.status + ").");
        }
        return;
      }
      if (popup) {
        popup.location.href = body.authorizeUrl;
        status.textContent = "Sign in at the tenant in the window that opened; the outcome appears here.";
      } else {
        var link = element("a", "Continue at the tenant");
        link.href = body.authorizeUrl;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
        status.textContent = "Your browser blocked the tenant's window. ";
        status.appendChild(link);
      }
      settled = await poll(widget, attempt, body.flowId, popup, button, status, outcome);
    } catch (failure) {
      status.textContent = "";
      showProblem(outcome, "The console could not reach the server. Check your connection and retry.");
    } finally {
      // A newer attempt owns the button now, and has closed this attempt's window.
      if (widget.attempt !== attempt) {
        return;
      }
      if (popup && !popup.closed) {
        popup.close();
      }
      if (settled) {
        button.disabled = false;
        button.removeAttribute("aria-busy");
        outcome.focus();
      }
    }
  }

  document.querySelectorAll("[data-express-configure]").forEach(function (widget) {
    var button = widget.querySelector("[data-start]");
    button.addEventListener("click", function () { run(widget, button); });
  });
}());
