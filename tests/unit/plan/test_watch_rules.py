"""stack.plan.watch_rules: which rule a changed path matches, Docker's ignore patterns, and what
a batch asks of each service; the file system and the `.dockerignore` files are fakes."""

from __future__ import annotations

from typing import Any

import pytest

from stack.plan.watch_rules import (
    CompiledRule,
    PatternMatcher,
    compile_rules,
    ephemeral,
    parse_ignore_file,
    plan_batch,
    split_sync,
    watch_roots,
)
from stack.spec.models import Project

ROOT = "/p"


def project(services: dict[str, dict[str, Any]]) -> Project:
    canonical = {name: {"image": "x", **svc} for name, svc in services.items()}
    return Project.model_validate({"name": "demo", "services": canonical, "working_dir": ROOT})


def rules_of(services: dict[str, dict[str, Any]], files: dict[str, str] | None = None) -> list[CompiledRule]:
    p = project(services)
    return compile_rules(p, sorted(p.services), (files or {}).get)


def rule(action: str, path: str, target: str | None = None, **more: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"action": action, "path": path, **more}
    if target is not None:
        out["target"] = target
    return out


def develop(*rules: dict[str, Any], **service: Any) -> dict[str, Any]:
    return {"develop": {"watch": list(rules)}, **service}


# -- Docker's patterns --------------------------------------------------------------------------


def test_an_ignore_file_is_read_as_docker_reads_it() -> None:
    text = "\ufeff# comment\n\n  node_modules/  \n/build\n!  keep.txt\na/../b//c\n #not a comment\n"
    assert parse_ignore_file(text) == ["node_modules", "build", "!keep.txt", "b/c", "#not a comment"]


@pytest.mark.parametrize(
    ("patterns", "path", "ignored"),
    [
        (["*.pyc"], "/p/a.pyc", True),
        (["*.pyc"], "/p/pkg/a.pyc", False),  # anchored at the root, unlike .gitignore
        (["**/*.pyc"], "/p/pkg/deep/a.pyc", True),
        (["node_modules"], "/p/node_modules/x/y.js", True),  # a parent directory matches
        (["node_modules"], "/p/src/node_modules/y.js", False),
        (["*.log", "!keep.log"], "/p/keep.log", False),  # the last matching pattern wins
        (["*.log", "!keep.log"], "/p/other.log", True),
        (["docs", "!docs/api"], "/p/docs/api/index.md", False),
        (["docs", "!docs/api"], "/p/docs/guide.md", True),
        (["file?.txt"], "/p/file1.txt", True),
        (["file?.txt"], "/p/file10.txt", False),
        (["[ab].txt"], "/p/b.txt", True),
        (["[ab].txt"], "/p/c.txt", False),
        (["[a-c].txt"], "/p/b.txt", True),
        (["[^a-c].txt"], "/p/b.txt", False),
        (["*"], "/elsewhere/a.txt", False),  # outside the root: no pattern of it applies
        (["**"], "/p/any/thing", True),
        (["a.b"], "/p/axb", False),  # a dot is a dot
    ],
)
def test_docker_pattern_matching(patterns: list[str], path: str, ignored: bool) -> None:
    assert PatternMatcher(ROOT, tuple(patterns)).matches(path) is ignored


def test_a_malformed_pattern_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"\[z-a\]"):
        PatternMatcher(ROOT, ("[z-a]",))


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/p/src/.app.py.swp", True),
        ("/p/src/4913", True),
        ("/p/src/app.py~", True),
        ("/p/src/.#app.py", True),
        ("/p/src/app.py___jb_tmp___", True),
        ("/p/.git/index", True),
        ("/p/src/sub/.git/HEAD", True),
        ("/p/src/app.py", False),
        ("/p/src/swp.py", False),
    ],
)
def test_editor_files_and_git_metadata_are_never_synced(path: str, expected: bool) -> None:
    assert ephemeral(path) is expected


# -- rules --------------------------------------------------------------------------------------


def test_a_rule_maps_paths_under_it_to_its_target() -> None:
    (r,) = rules_of({"api": develop(rule("sync", "/p/src", "/app"))})
    assert r.matches("/p/src/a/b.py")
    assert r.container_path("/p/src/a/b.py") == "/app/a/b.py"
    assert r.container_path("/p/src") == "/app"
    assert not r.matches("/p/srcx/a.py")  # a sibling with the same prefix
    assert not r.matches("/p/other.py")


def test_a_rule_on_a_file_maps_it_to_its_target() -> None:
    (r,) = rules_of({"api": develop(rule("sync", "/p/conf.ini", "/etc/app.ini"))})
    assert r.matches("/p/conf.ini")
    assert r.container_path("/p/conf.ini") == "/etc/app.ini"


def test_ignore_and_include_are_relative_to_the_rule_path() -> None:
    (r,) = rules_of({"api": develop(rule("sync", "/p/src", "/app", ignore=["tmp/"], include=["*.py", "lib"]))})
    assert r.matches("/p/src/a.py")
    assert r.matches("/p/src/lib/deep/x.txt")  # under an included directory
    assert not r.matches("/p/src/readme.md")  # not included
    assert not r.matches("/p/src/tmp/a.py")  # included, but ignored


def test_the_build_contexts_dockerignore_applies_inside_the_context() -> None:
    files = {"/p/api/.dockerignore": "__pycache__\n*.pyc\n"}
    svc = develop(rule("sync", "/p/api/app", "/srv/app"), rule("sync", "/p/shared", "/srv/shared"))
    svc["build"] = {"context": "/p/api"}
    app, shared = rules_of({"api": svc}, files)
    assert not app.matches("/p/api/__pycache__/x.pyc")
    assert app.matches("/p/api/app/web.py")
    assert shared.matches("/p/shared/__pycache__")  # outside the context: its ignore file does not apply


def test_a_dockerfile_specific_ignore_file_wins() -> None:
    files = {"/p/api/.dockerignore": "*.md\n", "/p/api/Dev.Dockerfile.dockerignore": "*.txt\n"}
    svc = develop(rule("sync", "/p/api", "/srv"))
    svc["build"] = {"context": "/p/api", "dockerfile": "Dev.Dockerfile"}
    (r,) = rules_of({"api": svc}, files)
    assert not r.matches("/p/api/notes.txt")
    assert r.matches("/p/api/README.md")


def test_a_relative_build_context_is_the_project_directorys() -> None:
    svc = develop(rule("sync", "/p/api", "/srv"))
    svc["build"] = {"context": "api"}
    (r,) = rules_of({"api": svc}, {"/p/api/.dockerignore": "secret\n"})
    assert not r.matches("/p/api/secret")


def test_a_bad_pattern_names_the_service() -> None:
    with pytest.raises(ValueError, match="service api: ignore: invalid pattern"):
        rules_of({"api": develop(rule("sync", "/p/src", "/app", ignore=["[z-a]"]))})


def test_services_without_rules_have_none() -> None:
    assert rules_of({"db": {}, "api": develop(rule("restart", "/p/x"))})[0].service == "api"


# -- batches ------------------------------------------------------------------------------------


def test_a_batch_becomes_actions_per_service() -> None:
    rules = rules_of(
        {
            "api": develop(
                rule("sync+restart", "/p/api/app", "/srv/app"),
                rule("rebuild", "/p/api/requirements.txt"),
            ),
            "web": develop(
                rule("sync+exec", "/p/web", "/usr/share/html", exec={"command": ["reload"]}),
                rule("sync+exec", "/p/web/css", "/usr/share/html/css", exec={"command": ["build-css"]}),
            ),
            "db": {},
        }
    )
    changed = ["/p/api/app/web.py", "/p/api/app/b.py", "/p/web/index.html", "/p/web/css/a.css", "/p/web/css/b.css"]
    plan = plan_batch(changed, rules, config_files={"/p/stack.yaml"})
    assert not plan.reload
    assert list(plan.services) == ["api", "web"]
    api, web = plan.services["api"], plan.services["web"]
    assert (api.rebuild, api.restart) == (False, True)
    assert [(m.host, m.container) for m in api.sync] == [
        ("/p/api/app/b.py", "/srv/app/b.py"),
        ("/p/api/app/web.py", "/srv/app/web.py"),
    ]
    # Each hook once, in rule order, however many of its files changed.
    assert [e.command for e in web.execs] == [["reload"], ["build-css"]]
    # A file two rules map to the same container path is copied once.
    assert [m.container for m in web.sync] == [
        "/usr/share/html/css/a.css",
        "/usr/share/html/css/b.css",
        "/usr/share/html/index.html",
    ]


def test_rebuild_and_reload() -> None:
    rules = rules_of({"api": develop(rule("rebuild", "/p/api"))})
    plan = plan_batch(["/p/api/requirements.txt", "/p/.env"], rules, config_files={"/p/stack.yaml", "/p/.env"})
    assert plan.reload
    assert plan.services["api"].rebuild
    assert plan.services["api"].sync == []


def test_ignored_and_unrelated_paths_ask_for_nothing() -> None:
    rules = rules_of({"api": develop(rule("sync", "/p/src", "/app", ignore=["*.log"]))})
    plan = plan_batch(["/p/src/debug.log", "/p/src/.x.swp", "/p/elsewhere.py"], rules, config_files=set())
    assert plan.empty


def test_a_path_gone_by_now_is_deleted() -> None:
    rules = rules_of({"api": develop(rule("sync", "/p/src", "/app"))})
    plan = plan_batch(["/p/src/kept.py", "/p/src/gone.py"], rules, config_files=set())
    copies, deletes = split_sync(plan.services["api"].sync, exists=lambda p: p != "/p/src/gone.py")
    assert [c.container for c in copies] == ["/app/kept.py"]
    assert deletes == ["/app/gone.py"]


# -- what to watch ------------------------------------------------------------------------------


def test_watch_roots() -> None:
    directories = {"/", "/p", "/p/src", "/p/src/sub", "/p/api"}
    files = {"/p/api/requirements.txt", "/p/stack.yaml"}
    rules = rules_of(
        {
            "api": develop(
                rule("sync", "/p/src", "/app"),
                rule("sync", "/p/src/sub", "/app/sub"),  # inside a watched tree
                rule("rebuild", "/p/api/requirements.txt"),
                rule("sync", "/p/later/new", "/new"),  # not there yet: its nearest existing ancestor
            )
        }
    )
    roots = watch_roots(
        rules, ["/p/stack.yaml", "/p/.env"], is_dir=directories.__contains__, exists=(directories | files).__contains__
    )
    assert roots.recursive == ("/p/src",)
    assert roots.flat == ("/p", "/p/api")
