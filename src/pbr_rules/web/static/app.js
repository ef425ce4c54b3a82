// pbr-rules workspace: line numbers beside the agreement editor, and simulation progress. No libraries.
(function () {
  "use strict";
  var area = document.getElementById("yaml");
  var gutter = document.getElementById("gutter");
  if (area && gutter) {
    var renumber = function () {
      var v = area.value, n = v.split("\n").length - (v.slice(-1) === "\n" ? 1 : 0), out = [];
      if (n < 1) n = 1;
      for (var i = 1; i <= n; i++) out.push(i);
      gutter.textContent = out.join("\n");
      gutter.style.height = area.scrollHeight + "px";
    };
    area.addEventListener("input", renumber);
    area.addEventListener("scroll", function () { gutter.scrollTop = area.scrollTop; });
    renumber();
  }
  var box = document.getElementById("progress");
  if (box) {
    var url = box.getAttribute("data-url"), bar = box.querySelector("progress"), text = box.querySelector(".status");
    var poll = function () {
      fetch(url, {credentials: "same-origin"}).then(function (r) { return r.json(); }).then(function (p) {
        bar.max = p.total || 1; bar.value = p.done;
        text.textContent = p.done + " / " + p.total + " (" + p.elapsed + " s" + (p.remaining !== null ? ", ~" + p.remaining + " s" : "") + ")";
        if (p.finished) { window.location.reload(); } else { window.setTimeout(poll, 500); }
      }).catch(function () { window.setTimeout(poll, 1500); });
    };
    poll();
  }
})();
