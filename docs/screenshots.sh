#!/bin/sh
# Regenerates the pictures of docs/使用手册.md in docs/img/ (not run in CI).
#
# Workbooks: the examples' output workbooks, exported by LibreOffice to PDF one page per sheet,
# then the top left of each page drawn to PNG by pdftocairo (poppler-utils). Terminal output: the
# program run in a pseudo-terminal (`script`, so that `check` colours it as on a real terminal),
# its ANSI colours turned into HTML, the HTML exported by LibreOffice to PDF and drawn to PNG.
# Needs: soffice (LibreOffice), pdftocairo (poppler-utils), script (util-linux), python3 and a
# CJK font (fonts-wqy-microhei). On Debian:
#   apt-get install -y libreoffice-calc-nogui libreoffice-writer-nogui poppler-utils fonts-wqy-microhei
# Usage: docs/screenshots.sh   (from anywhere; builds the debug binary first)
set -eu

cd "$(dirname "$0")/.."
for tool in soffice pdftocairo script python3; do
    command -v "$tool" >/dev/null || { echo "docs/screenshots.sh: $tool is missing (see the head of this script)" >&2; exit 2; }
done
fc-list :lang=zh | grep -q . || { echo "docs/screenshots.sh: no CJK font (apt-get install fonts-wqy-microhei)" >&2; exit 2; }

cargo build --quiet
bin="$PWD/target/debug/tuopin"
img="$PWD/docs/img"
mkdir -p "$img"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp examples/户表.xlsx examples/2024Q2.csv examples/2024Q3.csv "$work/"
cd "$work"

# ── Workbooks ──
"$bin" assess 户表.xlsx --year 2024 -o 评估结果.xlsx --quiet 2>/dev/null || true
"$bin" adjust --previous 2024Q2.csv --current 2024Q3.csv --quarter 2024Q3 -o 三季度名单.xlsx --quiet 2>/dev/null || true

# One PDF page per sheet, as large as the sheet's used area.
to_pdf() {
    soffice --headless --convert-to \
        'pdf:calc_pdf_Export:{"SinglePageSheets":{"type":"boolean","value":"true"}}' \
        --outdir "$work" "$1" >/dev/null 2>&1
}

# shot PDF PAGE WIDTH HEIGHT NAME: the top left WIDTH × HEIGHT pixels of a page at 90 dpi.
shot() {
    pdftocairo -f "$2" -l "$2" -singlefile -r 90 -x 0 -y 0 -W "$3" -H "$4" -antialias gray -png "$1" "$img/$5"
}

to_pdf 评估结果.xlsx
shot 评估结果.pdf 1 1220 420 评估结果-评估结果表
shot 评估结果.pdf 2 1220 300 评估结果-数据核查表
shot 评估结果.pdf 3 760 640 评估结果-汇总表
to_pdf 三季度名单.xlsx
shot 三季度名单.pdf 1 420 300 季度名单-汇总表
shot 三季度名单.pdf 2 1220 200 季度名单-拟纳入监测表

# ── Terminal output ──
# term NAME TITLE COMMAND…: COMMAND's output (stdout and stderr) in a pseudo-terminal, as a picture
# of a terminal window; lines selected by the FILTER environment variable (a Python slice or a
# marker, see below).
term() {
    name=$1
    title=$2
    shift 2
    # `script` runs the command in a pseudo-terminal, so colours are on; COLUMNS for the wrap.
    COLUMNS=110 script -qec "$*" /dev/null > "$name.ansi" 2>&1 || true
    python3 - "$name.ansi" "$name.html" "$title" "${FILTER:-}" <<'PY'
import html, re, sys
src, out, title, select = sys.argv[1:5]
text = open(src, encoding="utf-8", errors="replace").read().replace("\r\n", "\n").replace("\r", "")
# Progress lines and cursor movements of the terminal are not output.
text = re.sub(r"\x1b\[[0-9;?]*[A-HJKlh]", "", text)
# The progress line is redrawn in place on a terminal; it is not part of what stays on screen.
lines = [l for l in text.split("\n") if not re.search(r"已读 [0-9,]+ 户（用时", l)]
if select.startswith("from:"):
    # from:MARKER:N — N lines from the first line holding MARKER.
    _, marker, n = select.split(":")
    i = next(k for k, l in enumerate(lines) if marker in l)
    lines = lines[i:i + int(n)]
elif select:
    lines = lines[:int(select)]
colours = {"31": "#ff6b6b", "32": "#7bd88f", "33": "#f0c05a", "36": "#66d9ef", "2": "#8a8a8a"}
WIDTH = 74  # display columns (a Chinese character is two)
out_lines = []
for line in lines:
    buf, depth, col = [], 0, 0
    for p in re.split(r"(\x1b\[[0-9;]*m)", line):
        m = re.fullmatch(r"\x1b\[([0-9;]*)m", p)
        if m and m.group(1) in ("", "0"):
            buf.append("</span>" * depth)
            depth = 0
        elif m:
            code = m.group(1).split(";")[0]
            style = "font-weight:bold" if code == "1" else f"color:{colours.get(code, '#e8e8e8')}"
            buf.append(f'<span style="{style}">')
            depth += 1
        else:
            for ch in p:
                w = 2 if ord(ch) > 0x2E7F else 1
                if col + w > WIDTH:
                    # Wrapped as a terminal wraps, indented to read as one line.
                    buf.append("\n      ")
                    col = 6
                buf.append(html.escape(ch))
                col += w
    buf.append("</span>" * depth)
    out_lines.append("".join(buf))
body = "\n".join([f'<span style="color:#9a9a9a">{html.escape(title)}</span>'] + out_lines).rstrip()
open(out + ".lines", "w").write(str(body.count("\n") + 1))
open(out, "w", encoding="utf-8").write(f"""<html><head><meta charset="utf-8"></head>
<body><table width="100%" cellpadding="10" cellspacing="0" bgcolor="#1e1e1e"><tr><td>
<pre style="font-family:'WenQuanYi Micro Hei Mono'; font-size:9pt; color:#e8e8e8">{body}</pre>
</td></tr></table></body></html>""")
PY
    soffice --headless --convert-to pdf:writer_web_pdf_Export --outdir "$work" "$name.html" >/dev/null 2>&1
    # The page is A4 with margins of 2 cm at the sides and 1 cm at the top (79 and 39 pixels at
    # 100 dpi): only the dark box is kept, as tall as its lines (about 15.5 pixels a line).
    height=$(( $(cat "$name.html.lines") * 155 / 10 + 40 ))
    pdftocairo -f 1 -l 1 -singlefile -r 100 -x 79 -y 39 -W 670 -H "$height" -antialias gray -png "$name.pdf" "$img/$name"
}

FILTER= term 终端-评估 'C:\台账> tuopin assess 户表.xlsx --year 2024 -o 评估结果.xlsx' \
    "'$bin' assess 户表.xlsx --year 2024 -o 评估结果2.xlsx"
FILTER=28 term 终端-核查一户 'C:\台账> tuopin check 户表.xlsx --id 5200010101006 --year 2024' \
    "'$bin' check 户表.xlsx --id 5200010101006 --year 2024 --quiet 2>/dev/null"
FILTER='from:怎样改变判定:12' term 终端-怎样改变判定 'C:\台账> tuopin check 户表.xlsx --id 5200010101006 --year 2024（后半部分）' \
    "'$bin' check 户表.xlsx --id 5200010101006 --year 2024 --quiet 2>/dev/null"

ls -l "$img"
