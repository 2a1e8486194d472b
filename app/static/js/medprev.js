// MédecinePrev: French date pickers (JJ/MM/AAAA) with the datepicker vendored by Flask-AppBuilder.
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
        $("input.medprev-date").datepicker({format: "dd/mm/yyyy", language: "fr", autoclose: true});
    }
});
