"""The procedures: as MCP prompts through a real client session, and as skills (SEP-2640) checked by the official
conformance suite against the server over Streamable HTTP."""

from __future__ import annotations

import json
import subprocess

import pytest

from clientary_mcp.skills import SkillError, all_skills, load
from clientary_mcp.tools import BY_NAME

from external import JS_DIR, js_package, node
from support import session
from test_http_support import clean_env, start_server

PROMPTS = {"month_end_billing", "chase_overdue_invoices", "onboard_won_lead", "weekly_time_audit"}
SCENARIOS = ("sep-2640-skills-enumeration", "sep-2640-skills-manifest", "sep-2640-skills-directory")


def test_each_procedure_names_only_tools_that_exist():
    import re

    for skill in all_skills():
        named = set(re.findall(r"`([a-z_]+)`", skill.text)) - {a.name for a in skill.arguments}
        tools = {n for n in named if "_" in n and n not in ("group_by", "title_rate", "all_pages", "unbilled_hours",
                                                            "to_date", "from_date", "project_id", "client_id",
                                                            "invoice_id", "received_on", "project_name",
                                                            "project_rate", "min_days_overdue", "unbilled_days")}
        assert tools and all(t in BY_NAME for t in tools), (skill.name, sorted(t for t in tools if t not in BY_NAME))


def test_a_broken_source_is_refused_with_the_reason():
    with pytest.raises(SkillError, match="file name"):
        load("other-name", "---\nname: month-end-billing\ndescription: x\nmetadata:\n  prompt: p\n---\nBody\n")
    with pytest.raises(SkillError, match="argument line"):
        load("a-b", "---\nname: a-b\ndescription: x\nmetadata:\n  prompt: p\n---\n## Arguments\n- month: bad\n")


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "2026-07-28"])
async def test_prompts_are_the_skills_with_the_arguments_given(tmp_path, mode):
    async with session(tmp_path, mode=mode) as h:
        listed = {p.name: p for p in (await h.client.list_prompts()).prompts}
        assert set(listed) == PROMPTS
        onboard = listed["onboard_won_lead"]
        assert [(a.name, a.required) for a in onboard.arguments] == [
            ("lead_id", True), ("project_name", False), ("project_rate", False)]
        got = await h.client.get_prompt("month_end_billing", {"month": "2026-11", "client_id": "3"})
        text = got.messages[0].content.text
        skill = next(s for s in all_skills() if s.prompt == "month_end_billing")
        read = await h.client.read_resource(skill.uri)
        assert read.contents[0].text == skill.text and read.contents[0].mime_type == "text/markdown"
        body = skill.text.split("---\n", 2)[2].strip()
        assert text.startswith(body) and "- month: 2026-11" in text and "- client_id: 3" in text
        resources = {r.uri: r for r in (await h.client.list_resources()).resources}
        assert set(resources) == {s.uri for s in all_skills()}
        assert resources[skill.uri].name == skill.name and resources[skill.uri].size == len(skill.raw)


@pytest.mark.anyio
async def test_prompt_argument_errors_name_the_argument(tmp_path):
    from mcp.shared.exceptions import MCPError

    async with session(tmp_path) as h:
        with pytest.raises(MCPError, match="missing required argument.*lead_id"):
            await h.client.get_prompt("onboard_won_lead", {})
        with pytest.raises(MCPError, match="unknown argument.*colour"):
            await h.client.get_prompt("weekly_time_audit", {"colour": "red"})
        with pytest.raises(MCPError, match="Unknown prompt"):
            await h.client.get_prompt("nope", {})
        with pytest.raises(MCPError, match="Unknown resource"):
            await h.client.read_resource("skill://nope/SKILL.md")


@pytest.mark.slow
def test_skills_extension_passes_the_official_conformance_scenarios(tmp_path):
    """Every check that applies runs and passes. The directory scenario's checks are skipped by the suite itself:
    they apply only to servers declaring `directoryRead`, and these skills are single files."""
    binary = node()
    suite = js_package("conformance-sep2640")
    proc, base = start_server(tmp_path, "conformance", ["--transport", "http", "--sandbox"],
                              clean_env(tmp_path, CLIENTARY_MCP_AUDIT_LOG=str(tmp_path / "audit.jsonl")))
    try:
        results: dict[str, list[dict]] = {}
        for scenario in SCENARIOS:
            out = tmp_path / scenario
            run = subprocess.run([binary, "--import", str(JS_DIR / "node20-globsync.mjs"), str(suite / "dist/index.js"),
                                  "server", "--url", f"{base}/mcp", "--scenario", scenario, "-o", str(out)],
                                 capture_output=True, text=True, timeout=180, cwd=JS_DIR)
            files = list(out.glob("*/checks.json"))
            assert files, f"{scenario} wrote no results:\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}"
            results[scenario] = json.loads(files[0].read_text())
    finally:
        proc.stop()
    for scenario, checks in results.items():
        failed = [(c["id"], c.get("errorMessage")) for c in checks if c["status"] not in ("SUCCESS", "SKIPPED")]
        assert not failed, (scenario, failed)
    ran = {c["id"] for c in results["sep-2640-skills-enumeration"] + results["sep-2640-skills-manifest"]
           if c["status"] == "SUCCESS"}
    assert {"sep-2640-skills-list-implemented", "sep-2640-skills-get-implemented", "sep-2640-resources-digest-format",
            "sep-2640-entry-frontmatter-identical", "sep-2640-skillmd-mimetype"} <= ran
    skipped = {c["id"] for checks in results.values() for c in checks if c["status"] == "SKIPPED"}
    assert all(c.startswith("sep-2640-directory-read") or c == "sep-2640-capability-directory-read-flag"
               for c in skipped), skipped
