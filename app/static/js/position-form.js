// MédecinePrev: the work-position form recomputes the follow-up badge when risks are ticked
// and shows the precision fields of the ticked risks.
document.addEventListener("DOMContentLoaded", function () {
    "use strict";
    var badge = document.getElementById("badge");
    if (!badge) {
        return;
    }

    function label(classes, text) {
        var span = document.createElement("span");
        span.className = classes;
        span.textContent = text;
        return span;
    }

    function refresh() {
        var codes = Array.prototype.map.call(
            document.querySelectorAll(".risk-box:checked"),
            function (box) { return box.value; }
        );
        var url = badge.getAttribute("data-url") + "?risques=" + encodeURIComponent(codes.join(","));
        fetch(url, {credentials: "same-origin"})
            .then(function (response) { return response.json(); })
            .then(function (data) {
                badge.textContent = "";
                badge.appendChild(
                    label("label badge-" + String(data.level).toLowerCase() + " medprev-badge", data.level)
                );
                if (data.certificate) {
                    badge.appendChild(document.createTextNode(" "));
                    badge.appendChild(label("label label-info medprev-certificate", "attestation requise"));
                }
            });
    }

    function togglePrecisions() {
        Array.prototype.forEach.call(document.querySelectorAll(".medprev-precision"), function (p) {
            var box = document.querySelector('.risk-box[value="' + p.getAttribute("data-for") + '"]');
            p.style.display = box && box.checked ? "" : "none";
        });
    }

    Array.prototype.forEach.call(document.querySelectorAll(".risk-box"), function (box) {
        box.addEventListener("change", refresh);
        box.addEventListener("change", togglePrecisions);
    });
    togglePrecisions();
});
