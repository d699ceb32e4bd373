"""What the parsers a plan goes through say - yaml-rs of the file, Jinja of its message templates - in Vietnamese,
with what to do about it."""

from __future__ import annotations

import re

Words = tuple[tuple[re.Pattern[str], str], ...]


def _words(pairs: tuple[tuple[str, str], ...]) -> Words:
    return tuple((re.compile(pattern), words) for pattern, words in pairs)


# What a parser says (a part of its sentence), and what the person writing the plan reads instead. The first that
# matches wins; a complaint none matches is quoted as it is, after a Vietnamese head.
YAML: Words = _words((
    (r"tab", "thụt lề bằng ký tự tab - thụt lề bằng dấu cách, không dùng tab"),
    (r"recursion limit", "danh sách hoặc bảng lồng nhau quá sâu (viết thành các khối thụt lề, không viết "
                         "'[[[...]]]')"),
    (r"unclosed bracket '(.)'", r"thiếu dấu đóng cho ngoặc '\1' mở ở đây"),
    (r"unclosed quote", "thiếu dấu nháy đóng cho đoạn chữ mở ở đây"),
    (r"flow mapping, did not find expected ',' or '\}'", "trong bảng viết trên một dòng ('{...}') thiếu dấu ',' "
                                                        "hoặc '}'"),
    (r"flow sequence, expected ',' or '\]'", "trong danh sách viết trên một dòng ('[...]') thiếu dấu ',' hoặc ']'"),
    (r"block collection, did not find expected '-'", "thiếu dấu '-' đầu mục danh sách, hoặc thụt lề chưa đều"),
    (r"block mapping, did not find expected key", "thụt lề chưa đều, hoặc thiếu tên khóa trước dấu ':'"),
    (r"mapping values are not allowed", "không được có dấu ':' ở đây: thụt lề chưa đều, hoặc một đoạn chữ có ': ' "
                                        "cần đặt trong dấu nháy"),
    (r"indentation in multiline quoted scalar|quoted scalar, found unexpected document",
     "một đoạn chữ mở dấu nháy mà chưa đóng, hoặc dòng tiếp theo của nó thụt lề chưa đều"),
    (r"mapping keys are not allowed|block sequence entries are not allowed|invalid indentation",
     "thụt lề chưa đều: các khóa cùng cấp phải thẳng cột"),
    (r"unknown anchor", "bí danh ('*tên') gọi một neo ('&tên') chưa được đặt ở phía trên"),
    (r"unexpected character: `(.)'", r"giá trị không được bắt đầu bằng '\1': đặt giá trị trong dấu nháy"),
    (r"'(.)' must be followed by a valid YAML whitespace", r"sau dấu '\1' cần một dấu cách"),
    (r"simple key expect", "thiếu dấu ':' sau tên khóa"),
    (r"unknown escape character|invalid Unicode character escape|expected hexadecimal number",
     r"đoạn chữ trong nháy kép có '\\' viết sai (muốn viết dấu '\\' thì dùng nháy đơn)"),
    (r"trailing content after double-quoted", "có chữ sau dấu nháy kép đóng"),
    (r"wrongly indented line in block scalar", "dòng thụt lề chưa đều trong khối chữ ('|' hoặc '>')"),
    (r"unexpected EOF|unexpected eof", "tệp kết thúc khi một danh sách hoặc bảng chưa được đóng"),
    (r"did not find expected node content", "thiếu giá trị ở đây"),
))
TEMPLATE: Words = _words((
    (r"^Unexpected end of template.*block that needs to be closed is '(\w+)'",
     r"mẫu kết thúc mà khối {% \1 %} chưa đóng: thiếu {% end\1 %}"),
    (r"^unexpected end of template", "mẫu kết thúc khi '{{' hoặc '{%' chưa đóng"),
    (r"^Encountered unknown tag 'end(\w+)'", r"{% end\1 %} không đóng khối {% \1 %} nào đang mở"),
    (r"^Encountered unknown tag '(\w+)'", r"không có thẻ {% \1 %} (mẫu chỉ dùng {% if %}, {% elif %}, "
                                          r"{% else %}, {% endif %})"),
    (r"^unexpected char '(.)'", r"ký tự '\1' viết sai chỗ (một dấu nháy chưa đóng?)"),
    (r"^unexpected '([^']*)', expected '([^']*)'", r"gặp '\1' ở chỗ cần '\2'"),
    (r"^unexpected '([^']*)'", r"'\1' viết sai chỗ"),
    (r"^expected token '([^']*)', got '([^']*)'", r"cần '\1' nhưng gặp '\2'"),
    (r"^Expected an expression, got '([^']*)'", r"cần một biến, số hoặc chữ trước '\1'"),
))
# Jinja's names for what it met, as a template writes them.
_TOKENS = {"end of print statement": "}}", "end of statement block": "%}", "end of template": "hết mẫu",
           "begin of print statement": "{{", "begin of statement block": "{%", "name": "tên"}


def said(complaint: str, words: Words, parser: str) -> str:
    """A parser's complaint in Vietnamese (`words`: YAML or TEMPLATE); its own words after "trình đọc `parser`
    báo:" when the plan language has none for it."""
    for pattern, vietnamese in words:
        if m := pattern.search(complaint):
            return m.expand(vietnamese)
    return f"trình đọc {parser} báo: {complaint}"


def yaml_said(reason: str) -> str:
    """yaml-rs's complaint about a plan or agency file."""
    return said(reason, YAML, "YAML")


def template_said(message: str) -> str:
    """Jinja's syntax complaint about a message template."""
    for name, written in _TOKENS.items():
        message = message.replace(f"'{name}'", f"'{written}'")
    return said(message, TEMPLATE, "mẫu")
