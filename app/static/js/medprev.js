// MédecinePrev: French date pickers (JJ/MM/AAAA) with the datepicker vendored by Flask-AppBuilder,
// and the confirmation asked by forms marked data-confirm="…" (no inline onsubmit handler).
var FRENCH_DATES = {format: "dd/mm/yyyy", language: "fr", autoclose: true};

$(function () {
    if ($.fn.datepicker && $.fn.datepicker.dates) {
        $.fn.datepicker.dates.fr = {
            days: ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
            daysShort: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
            daysMin: ["d", "l", "ma", "me", "j", "v", "s"],
            months: ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
                     "septembre", "octobre", "novembre", "décembre"],
            monthsShort: ["janv.", "févr.", "mars", "avril", "mai", "juin", "juil.", "août",
                          "sept.", "oct.", "nov.", "déc."],
            today: "Aujourd'hui",
            clear: "Effacer",
            weekStart: 1,
            format: "dd/mm/yyyy"
        };
        $("input.medprev-date").datepicker(FRENCH_DATES);
    }
});

// Date inputs added after the page loaded (search filters) get their picker on first focus.
$(document).on("focusin", "input.medprev-date", function () {
    var input = $(this);
    if ($.fn.datepicker && $.fn.datepicker.dates && !input.data("datepicker")) {
        input.datepicker(FRENCH_DATES).datepicker("show");
    }
});

$(document).on("submit", "form[data-confirm]", function (event) {
    if (!window.confirm(this.getAttribute("data-confirm"))) {
        event.preventDefault();
    }
});
