"""The command line as a person uses it: flags, help, errors that name the fix, output formats."""

from __future__ import annotations

import argparse
import json
import socket

import pytest
from cli_support import ROOT, cli, one_line_error

from clientary_mcp import __version__
from clientary_mcp.tools import REGISTRY


def test_version(tmp_path):
    proc = cli(tmp_path, "--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"clientary-mcp {__version__}"


def _actions(parser: argparse.ArgumentParser, path: str = "clientary-mcp"):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                if child.add_help:  # sandbox and principals have parsers of their own, checked below
                    yield from _actions(child, f"{path} {name}")
        elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
            yield path, action


def test_every_argument_has_help_text():
    from clientary_mcp.cli.parser import build
    from clientary_mcp.sandbox.cli import parser as sandbox_parser
    from clientary_mcp.transports.principals import _parser as principals_parser

    missing = [f"{path} {action.dest}" for parser in (build(), sandbox_parser(), principals_parser())
               for path, action in _actions(parser) if not action.help]
    assert missing == []


def test_help_shows_only_the_flags_that_apply(tmp_path):
    tools = cli(tmp_path, "tools", "--help").stdout
    assert "--include" in tools and "--audit-log" not in tools and "--sandbox" not in tools
    assert "--port" not in cli(tmp_path, "call", "--help").stdout
    serve = cli(tmp_path, "serve", "--help").stdout
    assert "http/sse only" in serve and "--port" in serve and "--yes" not in serve


def test_include_adds_tools_to_the_enabled_toolsets(tmp_path):
    everything = cli(tmp_path, "tools", "--include", "list_clients")
    assert len(everything.stdout.splitlines()) == len(REGISTRY)
    staff = cli(tmp_path, "tools", "--toolsets", "staff", "--include", "get_invoice")
    assert sorted(row.split()[0] for row in staff.stdout.splitlines()) == ["get_invoice", "get_staff", "list_staff"]
    assert staff.stderr.startswith("3 tools (")
    one = cli(tmp_path, "tools", "--toolsets", "staff", "--exclude", "get_staff")
    assert one.stderr.startswith("1 tool (")


def test_a_policy_with_no_tools_refuses_to_start(tmp_path):
    one_line_error(cli(tmp_path, "serve", "--sandbox", "--read-only", "--include", "delete_client"),
                   "delete_client", "--read-only")
    one_line_error(cli(tmp_path, "serve", "--sandbox", "--toolsets", "staff", "--exclude", "list_staff,get_staff"),
                   "enables no tools")


def test_network_flags_are_refused_on_stdio(tmp_path):
    one_line_error(cli(tmp_path, "serve", "--sandbox", "--port", "9000"), "--port applies only to --transport")
    one_line_error(cli(tmp_path, "serve", "--sandbox", "--principals", "p.json", "--stateless"),
                   "--principals, --stateless apply only")


@pytest.mark.parametrize("args,needles", [
    (["call", "list_client", "--sandbox"], ["did you mean list_clients"]),
    (["tools", "--include", "get_clent"], ["did you mean get_client"]),
    (["audit", "show", "--tool", "delete_clients"], ["did you mean delete_client"]),
])
def test_misspelt_tool_names_get_a_suggestion(tmp_path, args, needles):
    one_line_error(cli(tmp_path, *args), *needles)


def test_list_summaries_use_correct_plurals(tmp_path):
    page5 = cli(tmp_path, "call", "list_clients", '{"page": 5}', "--sandbox")
    assert page5.returncode == 0
    assert page5.stderr.strip() == "No clients on page 5: there is 1 page (5 in all)."
    staff = cli(tmp_path, "call", "list_staff", "--sandbox")
    assert "staff" in staff.stderr
    preview = cli(tmp_path, "call", "delete_client", '{"id": 5}', "--sandbox")  # no projects, invoices…
    summary = json.loads(preview.stdout)["summary"]
    assert " 1 projects" not in summary and " 1 contacts" not in summary


def test_call_reads_its_arguments_from_a_file_or_stdin(tmp_path):
    (tmp_path / "args.json").write_text('{"id": 2}')
    from_file = cli(tmp_path, "call", "get_client", "@args.json", "--sandbox")
    assert json.loads(from_file.stdout)["name"] == "Globex Industries"
    from_stdin = cli(tmp_path, "call", "get_client", "-", "--sandbox", input='{"id": 3}')
    assert json.loads(from_stdin.stdout)["name"] == "Initech Software"
    one_line_error(cli(tmp_path, "call", "get_client", "@missing.json", "--sandbox"), "missing.json")
    one_line_error(cli(tmp_path, "call", "get_client", "-", "--sandbox", input="[1]"), "JSON object")


def test_format_table_prints_a_list_as_columns(tmp_path):
    table = cli(tmp_path, "call", "list_clients", "--sandbox", "--format", "table")
    rows = table.stdout.splitlines()
    assert rows[0].split()[:3] == ["id", "number", "name"]
    assert len(rows) == 6 and "Acme Corporation" in table.stdout
    assert json.loads(cli(tmp_path, "call", "list_clients", "--sandbox").stdout)["returned"] == 5  # piped: JSON
    listed = json.loads(cli(tmp_path, "tools", "--format", "json", "--toolsets", "staff").stdout)
    assert [t["name"] for t in listed] == ["list_staff", "get_staff"]


def test_log_level_debug_shows_the_server_logs(tmp_path):
    quiet = cli(tmp_path, "call", "list_clients", "--sandbox")
    loud = cli(tmp_path, "call", "list_clients", "--sandbox", "--log-level", "DEBUG")
    assert loud.returncode == quiet.returncode == 0
    assert "DEBUG" in loud.stderr and "DEBUG" not in quiet.stderr
    one_line_error(cli(tmp_path, "call", "list_clients", "--sandbox", CLIENTARY_MCP_LOG_LEVEL="loud"),
                   "CLIENTARY_MCP_LOG_LEVEL")


def _audit(tmp_path):
    log = tmp_path / "audit.jsonl"
    for _ in range(3):
        cli(tmp_path, "call", "list_clients", "--sandbox", "--audit-log", str(log))
    cli(tmp_path, "call", "get_client", '{"id": 999}', "--sandbox", "--audit-log", str(log))
    return log


def test_audit_show_filters_are_validated_and_since_takes_dates_times_and_spans(tmp_path):
    log = str(_audit(tmp_path))
    for since in ("24h", "90m", "7d", "2w", "2020-01-01", "2020-01-01T09:30", "2020-01-01T09:30:00+02:00"):
        shown = cli(tmp_path, "audit", "show", log, "--since", since)
        assert shown.returncode == 0 and len(shown.stdout.splitlines()) == 4, (since, shown.stderr)
    assert cli(tmp_path, "audit", "show", log, "--since", "2999-01-01").stdout == ""
    errors = cli(tmp_path, "audit", "show", log, "--outcome", "api_error")
    assert len(errors.stdout.splitlines()) == 1 and "get_client" in errors.stdout
    for garbage in ("yesterday", "2026-13-45", "24x"):
        one_line_error(cli(tmp_path, "audit", "show", log, "--since", garbage), "--since", "24h")
    one_line_error(cli(tmp_path, "audit", "show", log, "--outcome", "bogus"), "--outcome", "api_error")


def test_audit_tail_says_when_it_shows_only_part(tmp_path):
    log = str(_audit(tmp_path))
    tail = cli(tmp_path, "audit", "tail", log, "-n", "2")
    assert len(tail.stdout.splitlines()) == 2
    assert "showing the last 2 of 4 records" in tail.stderr
    assert cli(tmp_path, "audit", "tail", log, "-n", "0").stdout.count("\n") == 4
    assert cli(tmp_path, "audit", "verify", log).stdout.strip().endswith("4 records, chain intact")


def test_the_audit_log_defaults_to_the_state_folder(tmp_path):
    cli(tmp_path, "call", "list_clients", "--sandbox")
    assert (tmp_path / "state" / "audit.jsonl").is_file()
    assert "1 record, chain intact" in cli(tmp_path, "audit", "verify").stdout


def test_principals_token_env_needs_an_account(tmp_path):
    proc = cli(tmp_path, "principals", "add", "ci", "--token-env", "CI_TOKEN", "--file", "p.json")
    assert proc.returncode == 2 and "--domain or --base-url" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "p.json").exists()


def test_the_sandbox_banner_shows_the_variables_that_point_at_it():
    from clientary_mcp.sandbox.cli import banner

    text = banner("127.0.0.1", 8765, "tok")
    assert "CLIENTARY_BASE_URL=http://127.0.0.1:8765 CLIENTARY_API_TOKEN=tok" in text


def test_schemas_outside_a_checkout_is_one_line(tmp_path):
    one_line_error(cli(tmp_path, "schemas"), "not a clientary-mcp source checkout", "--root")
    assert cli(tmp_path, "schemas", "--root", str(ROOT)).returncode == 0


def test_a_port_in_use_is_one_line_before_any_banner(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = cli(tmp_path, "serve", "--transport", "http", "--sandbox", "--port", str(port))
    one_line_error(proc, f"port {port}", "already in use", "--port")


def test_an_unwritable_audit_log_is_one_line(tmp_path):
    one_line_error(cli(tmp_path, "serve", "--sandbox", "--audit-log", "/proc/nope/a.jsonl"),
                   "/proc/nope/a.jsonl", "--audit-log")
    one_line_error(cli(tmp_path, "call", "list_clients", "--sandbox", "--audit-log", str(tmp_path)),
                   "is a folder")
