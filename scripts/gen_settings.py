"""Write the settings reference from `Settings`: the table in docs/settings.md and
`.env.example`. Run after adding or changing a setting; tests/unit/test_doc_settings.py fails
until both are current.

    .venv/bin/python scripts/gen_settings.py
"""

from __future__ import annotations

from pathlib import Path

from article_mcp.config_reference import env_example, with_settings_table

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "settings.md"
ENV_EXAMPLE = ROOT / ".env.example"


def main() -> None:
    PAGE.write_text(with_settings_table(PAGE.read_text(encoding="utf-8")), encoding="utf-8")
    ENV_EXAMPLE.write_text(env_example(), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)} and {ENV_EXAMPLE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
