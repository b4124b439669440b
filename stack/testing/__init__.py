"""stack.testing: run stacks in pytest (the plugin is `stack.testing.plugin`, registered by the
`pytest11` entry point, so installing stack is enough).

    def test_home_page(stack):              # the `stack` fixture: up --wait, then down -v
        response = urllib.request.urlopen(stack.url("web", 80))
        assert response.status == 200

See "Testing with pytest" in README.md.  Importing this package is cheap: the engine is
imported only once a stack is brought up.
"""

from stack.testing.factory import stack_fixture
from stack.testing.handle import ExecResult, RunningStack
from stack.testing.manager import StackWarning

__all__ = ["ExecResult", "RunningStack", "StackWarning", "stack_fixture"]
