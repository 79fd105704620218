"""The part of lark the book's parsers run on, from the module `grammar._loading` generates (no `lark` import).

    from grammar._runtime import Token, Transformer, UnexpectedInput, lark
    parser = lark.load("automation", transformer=..., postlex=...)
"""

from __future__ import annotations

from grammar._loading import load_runtime

lark = load_runtime()

Indenter = lark.Indenter
Token = lark.Token
Transformer = lark.Transformer
v_args = lark.v_args
UnexpectedCharacters = lark.UnexpectedCharacters
UnexpectedEOF = lark.UnexpectedEOF
UnexpectedInput = lark.UnexpectedInput
UnexpectedToken = lark.UnexpectedToken
VisitError = lark.VisitError

__all__ = ["Indenter", "Token", "Transformer", "UnexpectedCharacters", "UnexpectedEOF", "UnexpectedInput",
           "UnexpectedToken", "VisitError", "lark", "v_args"]
