"""The API documentation works offline: Swagger UI and ReDoc load only assets the server
itself serves from the package (no CDN, no web fonts, no online validator), and '/' leads to
the docs. Issue 13, item 8."""

from __future__ import annotations

import re

from pbr_rules.api.docs import STATIC_DIR

EXTERNAL = re.compile(r"""(?:src|href)=["'](?:https?:)?//""")


def _local_assets(html: str) -> list[str]:
    return re.findall(r"""(?:src|href)=["'](/static/docs/[^"']+)["']""", html)


def test_swagger_ui_loads_only_local_assets(client):
    resp = client.get("/docs")
    assert resp.status_code == 200 and "text/html" in resp.headers["content-type"]
    html = resp.text
    assert not EXTERNAL.search(html), "the page loads something from another server"
    assert "cdn.jsdelivr.net" not in html and "fastapi.tiangolo.com" not in html
    assert sorted(set(_local_assets(html))) == [
        "/static/docs/favicon-32x32.png", "/static/docs/swagger-ui-bundle.js", "/static/docs/swagger-ui.css",
    ]
    assert '"validatorUrl": null' in html  # no badge fetched from the online validator
    assert "url: '/openapi.json'" in html


def test_redoc_loads_only_local_assets_and_no_web_fonts(client):
    html = client.get("/redoc").text
    assert not EXTERNAL.search(html)
    assert "fonts.googleapis.com" not in html
    assert "/static/docs/redoc.standalone.js" in _local_assets(html)


def test_every_asset_the_pages_name_is_served_from_the_package(client):
    names = set(_local_assets(client.get("/docs").text)) | set(_local_assets(client.get("/redoc").text))
    for path in names:
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert resp.content == (STATIC_DIR / path.rsplit("/", 1)[1]).read_bytes()
    assert client.get("/static/docs/swagger-ui-bundle.js").headers["content-type"].startswith(("application/javascript", "text/javascript"))


def test_the_root_leads_to_the_docs(client):
    resp = client.get("/", follow_redirects=False)
    assert resp.status_code in (302, 307) and resp.headers["location"] == "/docs"
    assert client.get("/").url.path == "/docs"


def test_the_docs_pages_are_not_part_of_the_api_schema(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not {"/", "/docs", "/redoc", "/docs/oauth2-redirect"} & set(paths)
    assert client.get("/docs/oauth2-redirect").status_code == 200
