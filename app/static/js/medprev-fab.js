// MédecinePrev: the behaviour Flask-AppBuilder's templates wrote as inline scripts, read from
// data-* attributes (the Content-Security-Policy allows scripts from static files only).
// Loaded after jQuery, Bootstrap, select2 and Flask-AppBuilder's ab_filters.js.
(function ($) {
    "use strict";

    var NO_ROW_SELECTED = "Aucune ligne sélectionnée.";
    // What to do once the user confirms in FAB's modal (confirm.html); null when nothing waits.
    var pending = null;

    function confirmThen(text, run) {
        if (!text) {
            run();
            return;
        }
        pending = run;
        $("#modal-confirm .modal-text").first().text(text);
        $("#modal-confirm").first().modal("show");
    }

    function submitTo(form, url) {
        if (url) {
            form.attr("action", url);
        }
        form.trigger("submit");
    }

    function alertText(text) {
        var modal = $("#modal-alert").first();
        modal.find(".modal-text").text(text);
        modal.modal("show");
    }

    // Search filters (widgets/search.html): built right away, as FAB's inline script did, so that
    // ab.js turns their selects into select2 widgets when the document is ready.
    $("form[data-medprev-filters]").each(function () {
        var form = this;
        function read(name) {
            return JSON.parse(form.getAttribute(name) || "null");
        }
        new AdminFilters(
            form,
            read("data-labels"),
            read("data-form-fields"),
            read("data-search-filters"),
            read("data-active-filters")
        );
    });

    $(function () {
        $("#modal-confirm").on("hidden.bs.modal", function () {
            pending = null;
        });
        $("#modal-confirm-ok").on("click", function (event) {
            event.preventDefault();
            var run = pending;
            pending = null;
            $("#modal-confirm").first().modal("hide");
            if (run) {
                run();
            }
        });

        // List rows: "check all" and the highlighted selected rows.
        $(".action_check_all").on("click", function () {
            $(".action_check").prop("checked", this.checked).trigger("change");
        });
        $(".action_check").on("change", function () {
            $(this).closest("tr").toggleClass("success", this.checked);
        });

        // Delete button of a row or a record (lib.lnk_delete): POST with the CSRF token.
        $(document).on("click", "[data-medprev-delete-url]", function (event) {
            event.preventDefault();
            var url = $(this).attr("data-medprev-delete-url");
            confirmThen($(this).attr("data-medprev-confirmation"), function () {
                var form = $("#action_form").length ? $("#action_form") : $("#delete_form");
                submitTo(form.first(), url);
            });
        });

        // Action of one record (lib.render_action_links).
        $(document).on("click", "[data-medprev-action-url]", function (event) {
            event.preventDefault();
            var url = $(this).attr("data-medprev-action-url");
            confirmThen($(this).attr("data-medprev-confirmation"), function () {
                submitTo($("#action_form").first(), url);
            });
        });

        // Action on the checked rows of a list (lib.render_actions).
        $(document).on("click", "[data-medprev-bulk-action]", function (event) {
            event.preventDefault();
            var name = $(this).attr("data-medprev-bulk-action");
            if ($("input.action_check:checked").length === 0) {
                alertText(NO_ROW_SELECTED);
                return;
            }
            confirmThen($(this).attr("data-medprev-confirmation"), function () {
                var form = $("#action_form").first();
                $("#action", form).val(name);
                $("input.action_check", form).remove();
                $("input.action_check:checked").each(function () {
                    form.append($(this).clone());
                });
                submitTo(form, null);
            });
        });
    });
})(jQuery);
