"""An image committed from one of our containers hands none of our labels down."""

from __future__ import annotations

import shlex

from stack.plan import labels as L


def test_commit_changes_blank_every_label_of_ours() -> None:
    container = {
        L.CONTAINER_OF: "demo",
        L.PROJECT: "demo",
        L.SERVICE: "web",
        L.NUMBER: "1",
        L.DEPENDS_ON: "db",
        L.INHERITED_VOLUMES: "abc",
        "team": "blue",
    }
    blank, informative = L.commit_changes(container, "demo", "web")
    words = shlex.split(blank)
    assert words[0] == "LABEL"
    blanked = dict(word.split("=", 1) for word in words[1:])
    assert set(blanked) >= set(container) - {"team"} | {L.ONEOFF, L.CONFIG_HASH}
    assert set(blanked.values()) == {""}
    assert "team" not in blanked
    assert shlex.split(informative) == ["LABEL", f"{L.BUILT_FOR_PROJECT}=demo", f"{L.BUILT_FOR_SERVICE}=web"]


def test_a_blank_container_of_is_nobodys() -> None:
    inherited = {L.CONTAINER_OF: "", L.PROJECT: "", L.SERVICE: ""}
    assert L.owner_of(inherited) is None
    assert not L.is_our_container(inherited, "")
    assert not L.is_our_container(inherited, "demo")
    assert L.owner_of({L.CONTAINER_OF: "demo"}) == "demo"
