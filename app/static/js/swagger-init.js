// MédecinePrev: starts Flask-AppBuilder's Swagger UI (vendored bundle) without an inline script.
(function () {
    "use strict";
    var root = document.getElementById("swagger-ui");
    if (!root || typeof SwaggerUIBundle === "undefined") {
        return;
    }
    window.ui = SwaggerUIBundle({
        url: root.getAttribute("data-openapi-url"),
        dom_id: "#swagger-ui",
        presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
        layout: "BaseLayout",
        // The online validator would be a request to a third-party server.
        validatorUrl: null
    });
})();
