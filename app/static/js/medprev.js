// MédecinePrev: French date pickers (JJ/MM/AAAA) with the datepicker vendored by Flask-AppBuilder,
// the search box of drop-downs, and the confirmation asked by forms marked data-confirm="…" (no
// inline onsubmit handler).
//
// The picker never rewrites what was typed: the server reads the text strictly (12031988,
// 1/3/1988, 1988-03-12; 31/02/1988 is an error, not 02/03/1988). The input only changes when a
// day is clicked in the calendar: no parsing on close (forceParse), no arrow-key navigation, no
// reformatting of a pasted text.
var FRENCH_DATES = {
    format: "dd/mm/yyyy",
    language: "fr",
    autoclose: true,
    forceParse: false,
    keyboardNavigation: false,
    showOnFocus: true
};

if ($.fn.datepicker && $.fn.datepicker.Constructor) {
    // The picker's own paste handler parses and rewrites the pasted date: let the paste happen.
    $.fn.datepicker.Constructor.prototype.paste = function () {};
}

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

// Several agents at once (« Programme et inscriptions »): a searchable box of chosen names instead
// of a bare multiple list that needs Ctrl+click; a long single list (a collectivity among 1 000)
// searchable the same way.
$(function () {
    if ($.fn.select2) {
        $("select.medprev-multi, select.medprev-searchable").each(function () {
            $(this).select2({
                theme: "bootstrap",
                width: "100%",
                placeholder: this.getAttribute("data-placeholder") || "Choisissez…",
                language: {noResults: function () { return "Aucun résultat"; }}
            });
        });
    }
});

// A drop-down's search box takes the focus when it opens (select2 4.0 with jQuery 3.6 does not).
$(document).on("select2:open", function (event) {
    var search = document.querySelector(".select2-container--open .select2-search__field");
    if (search) {
        search.focus();
    }
});

$(document).on("submit", "form[data-confirm]", function (event) {
    if (!window.confirm(this.getAttribute("data-confirm"))) {
        event.preventDefault();
    }
});

// A name as the server's rules.names folds it: lower case, no accents or ligatures, hyphens and
// apostrophes read as spaces. « gerard » finds GÉRARD, « dup » DUPONT (née DUPONT too).
function medprevFold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
        .replace(/œ/g, "oe").replace(/æ/g, "ae").replace(/ß/g, "ss")
        .replace(/[-\u2010-\u2014\u2212'\u2018\u2019\u02bc`\u00b4._,()]/g, " ")
        .replace(/\s+/g, " ").trim();
}

// A search box over a list of checkboxes (the agents of a secondary account): an item stays
// shown when one of its words starts with what is typed.
$(document).on("input", "input.medprev-list-filter", function () {
    var typed = medprevFold(this.value);
    document.querySelectorAll(this.getAttribute("data-filter-items")).forEach(function (item) {
        var words = " " + medprevFold(item.textContent);
        item.style.display = !typed || words.indexOf(" " + typed) >= 0 ? "" : "none";
    });
});

// The visit-request form (SPEC E1): the type is chosen first, then only that type's fieldsets
// show ([data-visit-types] lists the type codes); an occasional visit shows the fields of who
// asks for it ([data-requester]). Without JavaScript everything shows; the server ignores the
// fields of the other types.
function medprevVisitRequestForm(form) {
    var type = (form.querySelector("select[name=visit_type]") || {}).value || "";
    var checked = form.querySelector("input[name=requester]:checked");
    var requester = checked ? checked.value : "";
    form.querySelectorAll("[data-visit-types]").forEach(function (block) {
        var types = " " + block.getAttribute("data-visit-types") + " ";
        block.style.display = type && types.indexOf(" " + type + " ") >= 0 ? "" : "none";
    });
    form.querySelectorAll("[data-requester]").forEach(function (block) {
        block.style.display = block.getAttribute("data-requester") === requester ? "" : "none";
    });
}

$(function () {
    document.querySelectorAll("form.medprev-visit-request-form").forEach(medprevVisitRequestForm);
});
$(document).on("change", "form.medprev-visit-request-form select[name=visit_type], " +
    "form.medprev-visit-request-form input[name=requester]", function () {
    medprevVisitRequestForm(this.form);
});
