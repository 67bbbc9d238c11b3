// Live numbers: the page is complete without script; this keeps it current through
// Server-Sent Events (one stream for the halls shown) and refreshes a ticket's status.
(function () {
  "use strict";
  function setText(el, text) {
    if (el && el.textContent !== String(text)) {
      el.textContent = text;
      var row = el.closest("tr, li") || el;
      row.classList.add("changed");
      setTimeout(function () { row.classList.remove("changed"); }, 1500);
    }
  }
  function applyHall(h) {
    h.services.forEach(function (s) {
      var row = document.querySelector('tr[data-hall="' + h.hall + '"][data-service="' + s.service + '"]');
      if (!row) return;
      setText(row.querySelector(".waiting"), s.waiting);
      setText(row.querySelector(".est"), s.open ? s.est_wait_text : "今日已停办");
    });
    h.counters.forEach(function (c) {
      var li = document.querySelector('li[data-hall="' + h.hall + '"][data-counter="' + c.counter + '"]');
      if (!li) return;
      li.className = "st-" + c.status;
      setText(li.querySelector(".cstatus"), c.status_text);
      setText(li.querySelector(".serving"), c.serving ? "正在办理 " + c.serving : "");
    });
    var at = document.querySelector('[data-at="' + h.hall + '"]');
    if (at && h.at) at.textContent = h.at.substring(11, 19);
    var off = document.querySelector('[data-offline="' + h.hall + '"]');
    if (off) off.hidden = h.online;
  }
  var live = document.querySelector("[data-live]");
  if (live && window.EventSource) {
    var es = new EventSource("/events?halls=" + encodeURIComponent(live.getAttribute("data-live")));
    es.addEventListener("hall", function (ev) { applyHall(JSON.parse(ev.data)); });
  }
  var ticket = document.querySelector("[data-ticket]");
  if (ticket && window.fetch) {
    setInterval(function () {
      fetch(ticket.getAttribute("data-ticket")).then(function (r) {
        return r.ok ? r.json() : null;
      }).then(function (t) {
        if (!t) return;
        ticket.className = "ticket " + t.state;
        setText(ticket.querySelector(".headline"), t.headline);
        setText(ticket.querySelector(".detail"), t.detail);
      }).catch(function () {});
    }, 10000);
  }
})();
