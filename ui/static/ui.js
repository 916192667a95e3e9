// Berth UI: progressive enhancement only. Every page works without this
// script; with it, live regions ([data-live]) are re-rendered by the
// server when the master's event stream reports a change, and a task's
// output can be followed as it is written.
(function () {
  "use strict";
  var status = document.getElementById("live");
  function say(text) { if (status) status.textContent = text; }

  // Live regions: re-fetch this page and swap each [data-live] element
  // whose content changed, unless the user is working inside it.
  var regions = document.querySelectorAll("[data-live][id]");
  var timer = null, busy = false, again = false;
  function busyInside(el) {
    return el.contains(document.activeElement) && document.activeElement !== document.body ||
      el.querySelector("input[type=checkbox]:checked") !== null;
  }
  function refresh() {
    timer = null;
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        regions.forEach(function (el) {
          var fresh = doc.getElementById(el.id);
          if (fresh && fresh.innerHTML !== el.innerHTML && !busyInside(el)) el.innerHTML = fresh.innerHTML;
        });
      })
      .catch(function () {})
      .then(function () { busy = false; if (again) { again = false; schedule(); } });
  }
  function schedule() { if (!timer) timer = setTimeout(refresh, 300); }
  if (regions.length && window.EventSource) {
    var es = new EventSource("/ui/events");
    ["status_update_event", "health_status_changed_event", "instance_health_changed_event",
      "deployment_info", "deployment_success", "deployment_failed", "deployment_step_success",
      "deployment_step_failure", "api_post_event", "app_terminated_event", "failed_health_check_event",
      "unhealthy_task_kill_event", "group_change_success", "scheduler_registered_event"]
      .forEach(function (t) { es.addEventListener(t, schedule); });
    // A job run's task ending is folded into the job's history by the
    // job service's next tick, after the event: look again shortly.
    es.addEventListener("status_update_event", function (e) {
      try {
        var d = JSON.parse(e.data);
        if (/^chronos:/.test(d.appId) && /^TASK_(FINISHED|FAILED|KILLED|LOST|ERROR|DROPPED|GONE)/.test(d.taskStatus))
          setTimeout(schedule, 1000);
      } catch (err) { /* not JSON: the plain refresh is enough */ }
    });
    // Catch up on what changed between rendering and connecting.
    es.onopen = function () { say("live"); schedule(); };
    es.onerror = function () { say("reconnecting…"); };
  }

  // Follow a task's output: stream the rest of the log and append it.
  var follow = document.getElementById("follow"), log = document.getElementById("log");
  if (follow && log && window.fetch && window.TextDecoder) {
    follow.hidden = false;
    var offset = parseInt(follow.getAttribute("data-offset"), 10) || 0, ctl = null;
    follow.addEventListener("click", function () {
      if (ctl) { ctl.abort(); return; }
      ctl = new AbortController();
      follow.textContent = "Stop following";
      follow.setAttribute("aria-pressed", "true");
      var dec = new TextDecoder();
      fetch(follow.getAttribute("data-src") + "&follow=1&offset=" + offset,
        { credentials: "same-origin", signal: ctl.signal })
        .then(function (r) {
          var rd = r.body.getReader();
          function pump() {
            return rd.read().then(function (c) {
              if (c.done) return;
              offset += c.value.length;
              var atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
              log.appendChild(document.createTextNode(dec.decode(c.value, { stream: true })));
              if (atEnd) log.scrollTop = log.scrollHeight;
              return pump();
            });
          }
          return pump();
        })
        .catch(function () {})
        .then(function () {
          ctl = null;
          follow.textContent = "Follow";
          follow.setAttribute("aria-pressed", "false");
        });
    });
  }
})();
