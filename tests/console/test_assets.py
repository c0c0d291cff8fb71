"""Every asset a page loads is ours: vendored files match their lock; /api/docs is offline."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _vendor_script():
    spec = importlib.util.spec_from_file_location("vendor", ROOT / "scripts" / "vendor.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_files_match_the_lock():
    assert _vendor_script().check() == []


def test_htmx_is_pinned_to_2_0():
    import json

    lock = json.loads((ROOT / "advocacy/static/vendor/vendor.lock.json").read_text())
    versions = {p["package"]: p["version"] for p in lock["packages"]}
    assert versions["htmx.org"].startswith("2.0.")
    assert versions["chart.js"].startswith("4.")


def test_api_docs_load_only_local_assets(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "swagger-ui-bundle.js" in html
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        with client.get(asset) as served:
            assert served.status_code == 200, asset
