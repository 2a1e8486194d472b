// MédecinePrev: accessible names for icon-only links and for the select2 widgets (select2 4.0, vendored by
// Flask-AppBuilder). select2 hides the real <select> and draws a combobox whose text part has
// role="textbox" but no name, and whose inline search box (multiple choice) has no label either:
// a screen reader then reads a value without saying which field it belongs to. Each widget gets
// the name of its <select>: its <label for=…>, else its aria-label, title or placeholder.
// Checked by axe-core in tests/web/test_accessibility_browser.py.
(function () {
    "use strict";

    var count = 0;

    // Icon-only links (a pencil, a PDF icon) are named by their title; Flask-AppBuilder's ab.js
    // turns every link's title into a Bootstrap tooltip, which empties the title attribute and
    // would leave the link without a name. Run before ab.js's ready handler (this file is read
    // at the end of the body, before DOMContentLoaded).
    function nameIconLinks(root) {
        root.querySelectorAll("a[title], a[data-original-title], button[title]").forEach(function (link) {
            var title = link.getAttribute("title") || link.getAttribute("data-original-title");
            if (title && !link.getAttribute("aria-label") && !link.textContent.trim()) {
                link.setAttribute("aria-label", title.trim());
            }
        });
    }
    nameIconLinks(document);

    function labelOf(select) {
        if (select.id) {
            var label = document.querySelector("label[for='" + select.id.replace(/'/g, "\\'") + "']");
            if (label) {
                if (!label.id) {
                    count += 1;
                    label.id = "medprev-label-" + count;
                }
                return {id: label.id, text: label.textContent.trim()};
            }
        }
        var text = select.getAttribute("aria-label") || select.getAttribute("title") ||
            select.getAttribute("data-placeholder") || select.getAttribute("placeholder") ||
            select.getAttribute("name") || "";
        return {id: null, text: text.trim()};
    }

    function name(container) {
        if (container.getAttribute("data-medprev-named")) {
            return;
        }
        var select = container.previousElementSibling;
        if (!select || select.tagName !== "SELECT") {
            return;
        }
        var label = labelOf(select);
        if (!label.text) {
            return;
        }
        container.setAttribute("data-medprev-named", "1");
        var selection = container.querySelector(".select2-selection");
        var rendered = container.querySelector(".select2-selection__rendered");
        if (rendered && label.id) {
            // « Poste occupé, Choisissez… »: the field's label, then what is chosen.
            if (!rendered.id) {
                count += 1;
                rendered.id = "medprev-select2-" + count;
            }
            rendered.setAttribute("aria-labelledby", label.id + " " + rendered.id);
            if (selection) {
                selection.setAttribute("aria-labelledby", label.id + " " + rendered.id);
            }
        } else if (rendered) {
            rendered.setAttribute("aria-label", label.text);
        }
        container.querySelectorAll("input.select2-search__field").forEach(function (input) {
            input.setAttribute("aria-label", label.text);
        });
    }

    function nameAll(root) {
        if (root.querySelectorAll) {
            root.querySelectorAll(".select2-container").forEach(name);
        }
    }

    document.addEventListener("DOMContentLoaded", function () {
        nameAll(document);
        // Widgets drawn later (search filters added by a click) are named as they appear.
        new MutationObserver(function (mutations) {
            mutations.forEach(function (mutation) {
                mutation.addedNodes.forEach(function (node) {
                    if (node.nodeType !== 1) {
                        return;
                    }
                    if (node.classList.contains("select2-container")) {
                        name(node);
                    } else {
                        nameAll(node);
                    }
                });
            });
        }).observe(document.body, {childList: true, subtree: true});
    });
}());
