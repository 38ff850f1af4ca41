"""In-process Sigma engine: pySigma parses, we compile to closures and dispatch by logsource."""

from .compiler import CompiledRule, compile_rule, load_rules
from .matcher import Engine
from .pipelines import PIPELINES

__all__ = ["PIPELINES", "CompiledRule", "Engine", "compile_rule", "load_rules"]
