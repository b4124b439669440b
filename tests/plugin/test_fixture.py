"""The `stack` fixture and `stack_fixture` in real pytest sessions (pytester, real daemon): a
two-service stack reached over HTTP, typed helpers, logs in failure reports, a failed start,
and a session that uses no stack doing nothing at all."""

from __future__ import annotations

import json

import pytest

from tests.plugin.conftest import Suite


def test_a_test_reaches_a_two_service_stack_over_http_and_the_stack_is_gone_after(suite: Suite) -> None:
    suite.pytester.makepyfile(
        test_http="""
        import json
        import urllib.request
        from pathlib import Path

        from stack.testing import RunningStack

        def test_web_reaches_api(stack: RunningStack) -> None:
            # up --wait returned only once both healthchecks passed
            assert {c.service: c.health for c in stack.containers()} == {"api": "healthy", "web": "healthy"}
            # web's CGI fetches api's page over the project network
            with urllib.request.urlopen(stack.url("web", 80, "/cgi-bin/api"), timeout=10) as response:
                assert response.read().decode().strip() == "hello-from-api"
            host, port = stack.host_port("api", 8080)
            assert host == "127.0.0.1" and port == stack.port("api", 8080) > 0
            result = stack.exec("api", "cat /www/index.html; echo oops >&2; exit 3")
            assert (result.exit_code, result.ok) == (3, False)
            assert (result.stdout, result.stderr) == ("hello-from-api\\n", "oops\\n")
            assert stack.exec("web", ["true"]).ok
            assert "api: serving on 8080" in stack.logs("api")
            Path("seen.json").write_text(json.dumps({"name": stack.name, "ids": [c.id for c in stack.containers()]}))

        def test_same_session_same_stack(stack: RunningStack) -> None:
            assert json.loads(Path("seen.json").read_text())["name"] == stack.name
        """
    )
    result = suite.run()
    result.assert_outcomes(passed=2)
    seen = json.loads((suite.path / "seen.json").read_text())
    assert seen["name"].startswith(f"{suite.prefix}-") and seen["name"].endswith("-main-stack")
    assert len(seen["ids"]) == 2
    # down -v at the end of the session: no container, network, volume or lease is left
    assert suite.projects() == set()
    assert suite.leases() == []


def test_a_failing_test_reports_the_last_lines_of_each_service(suite: Suite) -> None:
    suite.pytester.makepyfile(
        test_fails="""
        def test_passes(stack):
            pass

        def test_fails(stack):
            assert stack.exec("api", "echo from-exec").stdout == "something else"
        """
    )
    result = suite.run("--show-capture=all")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_fails _*",
            f"*- stack logs: {suite.prefix}-*-main-stack (last 50 lines per container) -*",
            "api-1 | api: serving on 8080",
            "web-1 | web: serving on 80",
        ]
    )
    # only the failed test gets them
    assert result.stdout.str().count("stack logs:") == 1
    assert suite.projects() == set()


def test_a_stack_that_cannot_start_fails_its_tests_with_the_logs_and_leaves_nothing(suite: Suite) -> None:
    (suite.path / "broken.yaml").write_text(
        "services:\n"
        "  db:\n"
        "    image: stack-test/busybox:latest\n"
        "    command: [sh, -c, 'echo db: config is missing; exit 3']\n"
    )
    suite.pytester.makepyfile(
        test_broken="""
        def test_one(stack):
            pass

        def test_two(stack):
            pass
        """
    )
    result = suite.run("--stack-file", "broken.yaml")
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(
        [
            f"*stack fixture stack: `up --wait` of project {suite.prefix}-*-main-stack failed*",
            "*db-1 | db: config is missing*",
        ]
    )
    # One report per test (the short summary may repeat the messages, depending on the terminal).
    assert sum(line.startswith("stack fixture stack: `up --wait`") for line in result.stdout.lines) == 2
    assert suite.projects() == set()
    assert suite.leases() == []


def test_several_stacks_from_the_factory_have_their_own_projects(suite: Suite) -> None:
    suite.pytester.makeconftest(
        """
        from stack.testing import stack_fixture

        api_only = stack_fixture("stack.yaml", scope="module", services=["api"])
        """
    )
    suite.pytester.makepyfile(
        test_two_stacks="""
        def test_both(stack, api_only):
            assert stack.name != api_only.name and api_only.name.endswith("-main-api_only")
            assert [c.service for c in api_only.containers()] == ["api"]
            assert {c.service for c in stack.containers()} == {"api", "web"}
            assert stack.port("api", 8080) != api_only.port("api", 8080)
        """
    )
    suite.run().assert_outcomes(passed=1)
    assert suite.projects() == set()


def test_a_session_that_uses_no_stack_never_talks_to_the_daemon(suite: Suite, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # nothing listens there
    suite.pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = suite.run("-W", "error")
    result.assert_outcomes(passed=1)
    assert not suite.state_dir.exists() or not any(suite.state_dir.iterdir())
