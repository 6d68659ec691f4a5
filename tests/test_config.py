import dataclasses

import pytest

from clientary_mcp.config import ConfigError, Settings, load_settings

TOKEN = "tok_9f8e7d6c5b4a"


def env(**values):
    return {"CLIENTARY_API_TOKEN": TOKEN, **values}


def config_error(values) -> str:
    with pytest.raises(ConfigError) as info:
        load_settings(values)
    message = str(info.value)
    assert "\n" not in message
    assert TOKEN not in message
    return message


def test_domain_gives_hosted_url_and_defaults():
    settings = load_settings(env(CLIENTARY_DOMAIN="acme"))
    assert settings.base_url == "https://acme.clientary.com"
    assert settings.domain == "acme"
    assert settings.api_token == TOKEN
    assert (settings.timeout, settings.connect_timeout) == (30.0, 10.0)
    assert (settings.max_retries, settings.retry_budget) == (4, 60.0)
    assert (settings.page_concurrency, settings.max_records) == (8, 1000)


def test_token_is_kept_out_of_repr_and_settings_are_frozen():
    settings = load_settings(env(CLIENTARY_DOMAIN="acme"))
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.timeout = 1.0  # type: ignore[misc]


def test_reads_os_environ_by_default(monkeypatch):
    monkeypatch.setenv("CLIENTARY_DOMAIN", "globex")
    monkeypatch.setenv("CLIENTARY_API_TOKEN", TOKEN)
    monkeypatch.delenv("CLIENTARY_BASE_URL", raising=False)
    assert load_settings().base_url == "https://globex.clientary.com"


@pytest.mark.parametrize(
    "pasted",
    [
        "acme",
        "ACME",
        " acme\n",
        "acme.clientary.com",
        "Acme.Clientary.com.",
        "https://acme.clientary.com",
        "https://acme.clientary.com/",
        "http://acme.clientary.com/api/v2",
        "acme.clientary.com/api/v2/",
    ],
)
def test_domain_accepts_pasted_forms(pasted):
    settings = load_settings(env(CLIENTARY_DOMAIN=pasted))
    assert settings.domain == "acme"
    assert settings.base_url == "https://acme.clientary.com"


@pytest.mark.parametrize(
    "garbage",
    [
        "acme corp",
        "-acme",
        "acme-",
        "acme_co",
        "a" * 64,
        "acme.example.com",
        "sub.acme.clientary.com",
        "ftp://acme.clientary.com",
        "acme.clientary.com:8080",
        "https://acme.clientary.com/clients",
        "https://",
        "acme.clientary.com?x=1",
        "user@acme.clientary.com",
    ],
)
def test_domain_rejects_garbage_with_a_clear_message(garbage):
    message = config_error(env(CLIENTARY_DOMAIN=garbage))
    assert "CLIENTARY_DOMAIN" in message
    assert "acme" in message  # shows the expected form
    assert "CLIENTARY_BASE_URL" in message  # and the alternative for other servers


def test_longest_valid_label_is_accepted():
    label = "a" + "-" * 61 + "b"
    assert load_settings(env(CLIENTARY_DOMAIN=label)).domain == label


def test_token_is_required():
    message = config_error({"CLIENTARY_DOMAIN": "acme"})
    assert "CLIENTARY_API_TOKEN" in message
    assert "profile" in message
    assert "CLIENTARY_API_TOKEN" in config_error({"CLIENTARY_DOMAIN": "acme", "CLIENTARY_API_TOKEN": "   "})


@pytest.mark.parametrize("bad", ["abc def", "abc\tdef", "abc\x00def", "abc\x7fdef", "ab\u2028cd"])
def test_token_with_whitespace_or_control_characters_is_rejected(bad):
    with pytest.raises(ConfigError) as info:
        load_settings({"CLIENTARY_DOMAIN": "acme", "CLIENTARY_API_TOKEN": bad})
    message = str(info.value)
    assert "CLIENTARY_API_TOKEN" in message
    assert bad not in message and "abc" not in message


def test_token_surrounding_whitespace_is_trimmed():
    settings = load_settings({"CLIENTARY_DOMAIN": "acme", "CLIENTARY_API_TOKEN": f"  {TOKEN}\n"})
    assert settings.api_token == TOKEN


def test_domain_or_base_url_is_required():
    message = config_error(env())
    assert "CLIENTARY_DOMAIN" in message and "CLIENTARY_BASE_URL" in message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
        ("https://billing.example.com/api/v2", "https://billing.example.com"),
        ("https://example.com/sandbox/", "https://example.com/sandbox"),
    ],
)
def test_base_url_override(given, expected):
    settings = load_settings(env(CLIENTARY_BASE_URL=given))
    assert settings.base_url == expected
    assert settings.domain is None


def test_base_url_wins_over_domain_which_is_still_recorded():
    settings = load_settings(env(CLIENTARY_DOMAIN="acme", CLIENTARY_BASE_URL="http://localhost:9000"))
    assert settings.base_url == "http://localhost:9000"
    assert settings.domain == "acme"


@pytest.mark.parametrize(
    "bad",
    ["ftp://example.com", "localhost:8080", "acme", "https://example.com/?a=1", "http://example.com:99999",
     "https:///path"],
)
def test_bad_base_url_is_rejected(bad):
    message = config_error(env(CLIENTARY_BASE_URL=bad))
    assert "CLIENTARY_BASE_URL" in message
    assert "https://acme.clientary.com" in message


def test_base_url_with_credentials_is_rejected_without_echoing_them():
    message = config_error(env(CLIENTARY_BASE_URL="https://admin:hunter2@example.com"))
    assert "CLIENTARY_BASE_URL" in message and "credentials" in message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("var", "value", "field", "expected"),
    [
        ("CLIENTARY_TIMEOUT", "12.5", "timeout", 12.5),
        ("CLIENTARY_CONNECT_TIMEOUT", "3", "connect_timeout", 3.0),
        ("CLIENTARY_MAX_RETRIES", "0", "max_retries", 0),
        ("CLIENTARY_MAX_RETRIES", "10", "max_retries", 10),
        ("CLIENTARY_RETRY_BUDGET", "0", "retry_budget", 0.0),
        ("CLIENTARY_PAGE_CONCURRENCY", "16", "page_concurrency", 16),
        ("CLIENTARY_MAX_RECORDS", "100000", "max_records", 100000),
        ("CLIENTARY_MAX_RECORDS", " 1 ", "max_records", 1),
    ],
)
def test_numbers_are_parsed(var, value, field, expected):
    settings = load_settings(env(CLIENTARY_DOMAIN="acme", **{var: value}))
    assert getattr(settings, field) == expected
    assert type(getattr(settings, field)) is type(expected)


@pytest.mark.parametrize(
    ("var", "value", "range_words"),
    [
        ("CLIENTARY_TIMEOUT", "0", "greater than 0"),
        ("CLIENTARY_TIMEOUT", "-5", "greater than 0"),
        ("CLIENTARY_TIMEOUT", "soon", "greater than 0"),
        ("CLIENTARY_TIMEOUT", "nan", "greater than 0"),
        ("CLIENTARY_CONNECT_TIMEOUT", "inf", "greater than 0"),
        ("CLIENTARY_MAX_RETRIES", "11", "from 0 to 10"),
        ("CLIENTARY_MAX_RETRIES", "-1", "from 0 to 10"),
        ("CLIENTARY_MAX_RETRIES", "2.5", "from 0 to 10"),
        ("CLIENTARY_RETRY_BUDGET", "-1", "0 or more"),
        ("CLIENTARY_PAGE_CONCURRENCY", "0", "from 1 to 16"),
        ("CLIENTARY_PAGE_CONCURRENCY", "17", "from 1 to 16"),
        ("CLIENTARY_MAX_RECORDS", "0", "from 1 to 100000"),
        ("CLIENTARY_MAX_RECORDS", "100001", "from 1 to 100000"),
        ("CLIENTARY_MAX_RECORDS", "lots", "from 1 to 100000"),
    ],
)
def test_bad_numbers_name_the_variable_and_the_range(var, value, range_words):
    message = config_error(env(CLIENTARY_DOMAIN="acme", **{var: value}))
    assert message.startswith(var)
    assert range_words in message


def test_empty_values_count_as_unset():
    settings = load_settings(env(CLIENTARY_DOMAIN="acme", CLIENTARY_BASE_URL="", CLIENTARY_TIMEOUT=""))
    assert settings.base_url == "https://acme.clientary.com"
    assert settings.timeout == 30.0


def test_token_pasted_into_another_variable_is_not_echoed():
    message = config_error(env(CLIENTARY_DOMAIN="acme", CLIENTARY_TIMEOUT=TOKEN))
    assert "CLIENTARY_TIMEOUT" in message
    long_token = "x" * 30 + "Y" * 30
    with pytest.raises(ConfigError) as info:
        load_settings({"CLIENTARY_API_TOKEN": long_token, "CLIENTARY_DOMAIN": "acme",
                       "CLIENTARY_MAX_RECORDS": long_token})
    assert "xxxxxxxx" not in str(info.value)
    message = config_error(env(CLIENTARY_DOMAIN=TOKEN + ".example.com"))
    assert "CLIENTARY_DOMAIN" in message


def test_for_base_url_helper_validates_like_the_environment():
    settings = Settings.for_base_url("http://sandbox.local/", TOKEN, max_retries=0, page_concurrency=2)
    assert settings.base_url == "http://sandbox.local"
    assert (settings.max_retries, settings.page_concurrency) == (0, 2)
    with pytest.raises(ConfigError, match="CLIENTARY_PAGE_CONCURRENCY"):
        Settings.for_base_url("http://sandbox.local", TOKEN, page_concurrency=99)
    with pytest.raises(ConfigError, match="CLIENTARY_BASE_URL"):
        Settings.for_base_url("sandbox.local", TOKEN)


def test_a_very_short_token_is_blanked_as_a_word_only():
    with pytest.raises(ConfigError) as info:
        load_settings({"CLIENTARY_API_TOKEN": "on", "CLIENTARY_DOMAIN": "acme", "CLIENTARY_TIMEOUT": "on"})
    assert str(info.value) == "CLIENTARY_TIMEOUT must be a number of seconds greater than 0 (got '***')."
