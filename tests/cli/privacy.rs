//! Personal data: ID numbers are masked in every output file, on stdout and on stderr unless
//! `--show-ids` is given; phone numbers reach no output at all (no rule field carries one: a
//! 联系电话 column maps to no field, and ignored columns are named by their header only).
//!
//! Each test runs real commands and greps everything they wrote — files (workbooks read cell by
//! cell), stdout, stderr — for the full numbers.

use std::collections::BTreeSet;
use std::path::Path;

use crate::support::*;

/// Headers of ID-number columns in ledgers and person exports.
const ID_HEADERS: [&str; 4] = ["户主证件号码", "证件号码", "身份证号码", "户主身份证号"];

/// Every value of an ID column of a CSV file that a mask would change (10 characters or more).
fn ids_of(path: &Path) -> BTreeSet<String> {
    let mut r = csv::ReaderBuilder::new().flexible(true).from_path(path).expect("a CSV file");
    let headers = r.headers().unwrap().clone();
    let cols: Vec<usize> = headers
        .iter()
        .enumerate()
        .filter(|(_, h)| ID_HEADERS.contains(&h.trim_start_matches('\u{feff}')))
        .map(|(i, _)| i)
        .collect();
    assert!(!cols.is_empty(), "{} has an ID column", path.display());
    r.records()
        .flat_map(|rec| {
            let rec = rec.unwrap();
            cols.iter().filter_map(|&c| rec.get(c).map(|v| v.trim().to_string())).collect::<Vec<_>>()
        })
        .filter(|v| v.chars().count() >= 10)
        .collect()
}

/// The text of an output: a workbook cell by cell (every sheet), a folder file by file.
fn texts_of(path: &Path) -> Vec<(String, String)> {
    if path.is_dir() {
        let mut v = Vec::new();
        for e in std::fs::read_dir(path).unwrap() {
            v.extend(texts_of(&e.unwrap().path()));
        }
        return v;
    }
    let text = if path.extension().is_some_and(|e| e == "xlsx") {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto(path).expect("a workbook");
        let mut cells = Vec::new();
        for name in wb.sheet_names() {
            let range = wb.worksheet_range(&name).unwrap();
            cells.extend(range.rows().flat_map(|r| r.iter().map(|c| c.to_string())));
        }
        assert!(!cells.is_empty(), "{} has cells", path.display());
        cells.join("\n")
    } else {
        String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned()
    };
    vec![(path.display().to_string(), text)]
}

/// Run `tuopin ARGS` (with `-o OUT` when given): stdout, stderr and what it wrote, by where.
fn run(args: &[&str], out: Option<&Path>) -> Vec<(String, String)> {
    let mut cmd = tuopin();
    cmd.args(args);
    if let Some(o) = out {
        cmd.arg("-o").arg(o);
    }
    let o = cmd.output().unwrap();
    let what = format!("tuopin {}", args.join(" "));
    assert!(matches!(o.status.code(), Some(0 | 1)), "{what}: exit {:?}\n{}", o.status.code(), stderr_of(&o));
    let mut seen = vec![
        (format!("stdout of {what}"), String::from_utf8_lossy(&o.stdout).into_owned()),
        (format!("stderr of {what}"), stderr_of(&o)),
    ];
    if let Some(o) = out {
        seen.extend(texts_of(o));
    }
    seen
}

/// Where each of `secrets` shows in full.
fn shown(seen: &[(String, String)], secrets: &BTreeSet<String>) -> Vec<String> {
    let mut hits = Vec::new();
    for (place, text) in seen {
        for s in secrets {
            if text.contains(s.as_str()) {
                hits.push(format!("{s} in {place}"));
            }
        }
    }
    hits
}

/// A copy of examples/人员表.csv whose members' ID numbers have a wrong check digit (data problems).
fn persons_with_bad_ids(dir: &Path) -> (std::path::PathBuf, BTreeSet<String>) {
    let text = std::fs::read_to_string(root().join("examples/人员表.csv")).unwrap();
    let mut bad = BTreeSet::new();
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let mut cells: Vec<String> = line.split(',').map(String::from).collect();
        if i > 0 && i % 3 == 0 {
            let id = &mut cells[6];
            let last = if id.ends_with('1') { '2' } else { '1' };
            id.pop();
            id.push(last);
            bad.insert(id.clone());
        }
        lines.push(cells.join(","));
    }
    let path = dir.join("人员表-证件号码有误.csv");
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    (path, bad)
}

#[test]
fn no_output_or_message_shows_a_full_id_number() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (bad_persons, mut ids) = persons_with_bad_ids(d);
    for f in [
        "examples/户表.csv",
        "examples/人员表.csv",
        "tests/data/bad-id.csv",
        "tests/data/persons-as-ledger.csv",
        "tests/data/adjust-helper/2024Q2.csv",
        "tests/data/adjust-helper/2024Q3.csv",
    ] {
        ids.extend(ids_of(&root().join(f)));
    }
    assert!(ids.len() > 60, "enough ID numbers to look for: {}", ids.len());
    let bad_persons = bad_persons.to_str().unwrap();
    let year = ["--year", "2024"];
    let q = ["--quarter", "2024Q3"];
    let helper =
        ["--previous", "tests/data/adjust-helper/2024Q2.csv", "--current", "tests/data/adjust-helper/2024Q3.csv"];
    let runs: Vec<(Vec<&str>, Option<std::path::PathBuf>)> = vec![
        ([&["assess", "examples/户表.csv"][..], &year].concat(), Some(d.join("a.csv"))),
        ([&["assess", "examples/户表.csv"][..], &year].concat(), Some(d.join("a.jsonl"))),
        ([&["assess", "examples/户表.csv"][..], &year].concat(), Some(d.join("a.xlsx"))),
        ([&["assess", "examples/户表.csv", "--format", "table"][..], &year].concat(), None),
        ([&["assess", "examples/户表.csv"][..], &year].concat(), None),
        ([&["assess", "examples/户表.xlsx", "--format", "jsonl"][..], &year].concat(), None),
        ([&["assess", "examples/人员表.csv", "--format", "jsonl"][..], &year].concat(), None),
        ([&["assess", "examples/人员表.csv", "--format", "table"][..], &year].concat(), None),
        ([&["assess", bad_persons, "--format", "jsonl"][..], &year].concat(), None),
        ([&["assess", bad_persons][..], &year].concat(), Some(d.join("p.xlsx"))),
        ([&["assess", "tests/data/bad-id.csv", "--format", "jsonl"][..], &year].concat(), None),
        ([&["assess", "tests/data/bad-id.csv"][..], &year].concat(), Some(d.join("b.csv"))),
        ([&["assess", "tests/data/persons-as-ledger.csv", "--format", "jsonl"][..], &year].concat(), None),
        ([&["adjust"][..], &helper, &q].concat(), Some(d.join("lists"))),
        ([&["adjust"][..], &helper, &q].concat(), Some(d.join("lists.xlsx"))),
        ([&["adjust"][..], &helper, &q].concat(), None),
        ([&["check", "examples/户表.csv", "--id", "5200010101001"][..], &year].concat(), None),
        ([&["check", "examples/户表.csv", "--id", "5200010101001", "--format", "json"][..], &year].concat(), None),
        ([&["check", "tests/data/bad-id.csv", "--id", "R001"][..], &year].concat(), None),
        ([&["check", "tests/data/bad-id.csv", "--id", "R001", "--format", "json"][..], &year].concat(), None),
        ([&["check", "examples/人员表.csv", "--id", "P001"][..], &year].concat(), None),
        ([&["check", "--set", "户主证件号码=520000196803120314", "--set", "户类型=贫困户"][..], &year].concat(), None),
    ];
    let mut seen = Vec::new();
    for (args, out) in &runs {
        seen.extend(run(args, out.as_deref()));
    }
    // The runs did write the masked forms.
    let all: String = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("520000********0313"), "a masked ID number is shown");
    let hits = shown(&seen, &ids);
    assert!(hits.is_empty(), "full ID numbers shown:\n  {}", hits.join("\n  "));
}

/// The same outputs with `--show-ids` do carry the full numbers, so the test above can fail.
#[test]
fn show_ids_shows_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let ledger_ids = ids_of(&root().join("examples/户表.csv"));
    for (args, out) in [
        (vec!["assess", "examples/户表.csv", "--year", "2024", "--show-ids"], d.join("a.csv")),
        (vec!["assess", "examples/户表.csv", "--year", "2024", "--show-ids"], d.join("a.xlsx")),
    ] {
        let seen = run(&args, Some(&out));
        let missing: Vec<&String> = ledger_ids.iter().filter(|id| !seen.iter().any(|(_, t)| t.contains(*id))).collect();
        assert!(missing.is_empty(), "{}: missing {missing:?}", out.display());
    }
    let helper_ids: BTreeSet<String> = ["tests/data/adjust-helper/2024Q2.csv", "tests/data/adjust-helper/2024Q3.csv"]
        .iter()
        .flat_map(|f| ids_of(&root().join(f)))
        .collect();
    let seen = run(
        &[
            "adjust",
            "--previous",
            "tests/data/adjust-helper/2024Q2.csv",
            "--current",
            "tests/data/adjust-helper/2024Q3.csv",
            "--quarter",
            "2024Q3",
            "--show-ids",
        ],
        Some(&d.join("lists")),
    );
    assert!(!shown(&seen, &helper_ids).is_empty(), "adjust lists show full ID numbers with --show-ids");
    for (args, id) in [
        (&["check", "examples/户表.csv", "--id", "5200010101001", "--show-ids"][..], "520000196803120313"),
        (&["check", "tests/data/bad-id.csv", "--id", "R001", "--format", "json", "--show-ids"], "520000196803120314"),
        (&["assess", "tests/data/bad-id.csv", "--format", "jsonl", "--show-ids"], "520000196803120314"),
    ] {
        let seen = run(&[args, &["--year", "2024"]].concat(), None);
        assert!(!shown(&seen, &BTreeSet::from([id.to_string()])).is_empty(), "{args:?} shows {id}");
    }
}

/// Phone numbers: a ledger and a person export with 联系电话/手机号码 columns of full numbers (and
/// messy rows, so that there are problems to report) leak none of them anywhere.
#[test]
fn phone_numbers_reach_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut phones = BTreeSet::new();
    let mut with_phones = |src: &str, name: &str, headers: &[&str]| -> String {
        let text = std::fs::read_to_string(root().join(src)).unwrap();
        let mut out = String::new();
        for (i, line) in text.lines().enumerate() {
            out.push_str(line);
            for (k, h) in headers.iter().enumerate() {
                if i == 0 {
                    out.push_str(&format!(",{h}"));
                } else {
                    let p = format!("13{}{:08}", 8 - k, 10_000_000 + i * 7919 + k);
                    out.push_str(&format!(",{p}"));
                    phones.insert(p);
                }
            }
            out.push('\n');
        }
        let path = d.join(name);
        std::fs::write(&path, out).unwrap();
        path.to_str().unwrap().to_string()
    };
    let ledger = with_phones("examples/户表.csv", "户表-电话.csv", &["联系电话", "手机号码"]);
    let persons = with_phones("examples/人员表.csv", "人员表-电话.csv", &["户联系电话", "人联系电话"]);
    assert!(phones.len() > 60);
    let mut seen = Vec::new();
    for (args, out) in [
        (vec!["assess", &ledger, "--year", "2024"], Some(d.join("a.csv"))),
        (vec!["assess", &ledger, "--year", "2024"], Some(d.join("a.jsonl"))),
        (vec!["assess", &ledger, "--year", "2024"], Some(d.join("a.xlsx"))),
        (vec!["assess", &ledger, "--year", "2024", "--format", "table", "--show-ids"], None),
        (vec!["assess", &persons, "--year", "2024", "--format", "jsonl", "--show-ids"], None),
        (vec!["adjust", "--previous", &ledger, "--current", &ledger, "--quarter", "2024Q3"], Some(d.join("lists"))),
        (vec!["check", &ledger, "--id", "5200010101001", "--year", "2024", "--show-ids"], None),
        (vec!["check", &persons, "--id", "P001", "--year", "2024", "--format", "json"], None),
    ] {
        seen.extend(run(&args, out.as_deref()));
    }
    let all: String = seen.iter().map(|(_, t)| t.as_str()).collect();
    assert!(all.contains("联系电话"), "the ignored column is named (by its header)");
    let hits = shown(&seen, &phones);
    assert!(hits.is_empty(), "phone numbers shown:\n  {}", hits.join("\n  "));
}

/// Once a leak (found by this test): a file without a header row
/// fails with "no `户编号` column … found columns …", and the columns listed are the cells of its
/// first row — the household's full ID number (and any phone number) among them.
#[test]
fn a_first_row_taken_for_the_header_is_masked_in_the_error() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("examples/户表.csv")).unwrap();
    let path = dir.path().join("无表头.csv");
    std::fs::write(&path, text.lines().skip(1).take(3).collect::<Vec<_>>().join("\n")).unwrap();
    let o = tuopin().arg("assess").arg(&path).args(["--year", "2024"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = stderr_of(&o);
    assert!(!err.contains("520000196803120313"), "{err}");
}

/// Once a leak (found by this test): in a person export, members' rows that disagree on a
/// household column say so with both values in the message — for the 户主证件号码 column, both
/// full ID numbers (the problem's `value` was masked, its message not).
#[test]
fn members_disagreeing_on_the_head_id_are_masked_in_the_message() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(root().join("tests/data/persons-conflict.csv")).unwrap();
    let ids = ["520000197903050011", "520000198106120026"];
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let extra = if i == 0 { "户主证件号码" } else { ids[i % 2] };
        out.push_str(&format!("{line},{extra}\n"));
    }
    let path = dir.path().join("成员不一致.csv");
    std::fs::write(&path, out).unwrap();
    let seen = run(&["assess", path.to_str().unwrap(), "--year", "2024", "--format", "jsonl"], None);
    let hits = shown(&seen, &ids.iter().map(|s| s.to_string()).collect());
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

/// Once a leak (found by this test): the 数据问题 list of `adjust` quoted an invalid ID number in
/// full in its reason (`“户主证件号码”列“520000196803120314”：…`), while the ID column of the same
/// row was masked.
#[test]
fn adjust_data_problems_mask_invalid_id_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lists");
    let seen = run(
        &["adjust", "--previous", "tests/data/bad-id.csv", "--current", "tests/data/bad-id.csv", "--quarter", "2024Q3"],
        Some(&out),
    );
    let hits = shown(&seen, &ids_of(&root().join("tests/data/bad-id.csv")));
    assert!(hits.is_empty(), "{}", hits.join("\n"));
}

/// Digits of a text as ASCII with the separators people type between them (spaces, ideographic
/// spaces, hyphens) dropped: what a reader would take a number to be.
fn bare_digits(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, ' ' | '\u{3000}' | '-'))
        .map(|c| match c {
            '０'..='９' => char::from_u32(c as u32 - 0xFF10 + '0' as u32).unwrap(),
            'ｘ' | 'Ｘ' => 'X',
            'x' => 'X',
            c => c,
        })
        .collect()
}

/// The spellings of personal numbers and formulas planted in a ledger: every kind of column
/// (names, places, a custom free-text column, a number column echoed as invalid, the type).
fn plant(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, BTreeSet<String>) {
    let spellings = [
        "张三 520000198002290017",
        "５２００００１９８１０３１５００２Ｘ",
        "52000019820416003x",
        "5200 0019 8305 1700 44",
        "电话13912345678",
        "138-2345-6789",
        "+86 137 3456 7890",
        "130503670401001",
    ];
    let formulas = ["=HYPERLINK(\"http://x\",\"点\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1+1", "\r=2", " =3"];
    let secrets: BTreeSet<String> = [
        "520000198002290017",
        "52000019810315002X",
        "52000019820416003X",
        "520000198305170044",
        "13912345678",
        "13823456789",
        "13734567890",
        "130503670401001",
    ]
    .map(String::from)
    .into();
    let mut r = csv::Reader::from_path(root().join("examples/户表.csv")).unwrap();
    let mut headers: Vec<String> =
        r.headers().unwrap().iter().map(|h| h.trim_start_matches('\u{feff}').into()).collect();
    headers.push("备注".into());
    let col = |h: &str| headers.iter().position(|x| x == h).unwrap();
    let targets =
        ["户主姓名", "行政村", "乡(镇)", "县(市、区、旗)", "备注", "人均纯收入（元）", "户类型", "监测对象类别"];
    let mut rows = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let mut cells: Vec<String> = rec.unwrap().iter().map(String::from).collect();
        cells.push(String::new());
        let target = col(targets[i % targets.len()]);
        cells[target] = if i % 3 == 2 {
            formulas[i % formulas.len()].to_string()
        } else {
            format!("{}{}", if i % 2 == 0 { "" } else { "备注：" }, spellings[i % spellings.len()])
        };
        // Every spelling also in the free-text column, every formula in the name column.
        cells[col("备注")] = spellings[(i + 3) % spellings.len()].to_string();
        if i % 4 == 1 {
            cells[col("户主姓名")] = formulas[(i + 1) % formulas.len()].to_string();
        }
        rows.push(cells);
    }
    let write = |name: &str, rows: &[Vec<String>]| {
        let path = dir.join(name);
        let mut w = csv::Writer::from_path(&path).unwrap();
        w.write_record(&headers).unwrap();
        for r in rows {
            w.write_record(r).unwrap();
        }
        w.flush().unwrap();
        path
    };
    let current = write("户表-植入.csv", &rows);
    // The previous quarter: the same households, some of another type, a few gone, so that
    // every list of `adjust` has rows.
    let mut prev = rows.clone();
    for (i, r) in prev.iter_mut().enumerate() {
        if i % 5 == 0 {
            r[col("户类型")] = "一般农户".into();
        }
    }
    prev.push({
        let mut r = rows[0].clone();
        r[0] = "5200019999001".into();
        r[col("户主姓名")] = "=1+1 13600001111".into();
        r
    });
    let previous = write("户表-植入-上季度.csv", &prev);
    (current, previous, secrets)
}

/// A formula-looking CSV cell (after leading whitespace), not a plain number and not neutralised.
fn is_formula_cell(cell: &str) -> bool {
    let t = cell.trim_start_matches([' ', '\u{3000}']);
    let number = t.trim_start_matches(['-', '+']).replace('.', "").bytes().all(|b| b.is_ascii_digit())
        && !t.trim_start_matches(['-', '+']).is_empty();
    (cell.starts_with(['\t', '\r']) || t.starts_with(['=', '+', '-', '@', '＝', '＋', '－', '＠'])) && !number
}

/// Issue #17's scan: personal numbers in every spelling and formulas, planted in every kind of
/// column, reach no output of assess (CSV, JSON Lines, XLSX, table), check and adjust (CSV, XLSX,
/// table): no full number (compared digit by digit, whatever the spelling of the output), no
/// formula cell in a CSV, no formula in a workbook.
#[test]
fn planted_numbers_and_formulas_reach_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (current, previous, secrets) = plant(d);
    let (cur, prev) = (current.to_str().unwrap(), previous.to_str().unwrap());
    let year = ["--year", "2024"];
    let lists = ["adjust", "--previous", prev, "--current", cur, "--quarter", "2024Q3"];
    let mut seen = Vec::new();
    for (args, out) in [
        ([&["assess", cur][..], &year].concat(), Some(d.join("a.csv"))),
        ([&["assess", cur][..], &year].concat(), Some(d.join("a.jsonl"))),
        ([&["assess", cur][..], &year].concat(), Some(d.join("a.xlsx"))),
        ([&["assess", cur, "--format", "table"][..], &year].concat(), None),
        (lists.to_vec(), Some(d.join("lists"))),
        (lists.to_vec(), Some(d.join("lists.xlsx"))),
        (lists.to_vec(), None),
    ] {
        seen.extend(run(&args, out.as_deref()));
    }
    // The summaries by area (--summary FILE): area names come from the planted columns.
    let (summary, quarter) = (d.join("s.csv"), d.join("q.csv"));
    let (s_arg, q_arg) = (summary.to_str().unwrap(), quarter.to_str().unwrap());
    seen.extend(run(&[&["assess", cur, "--format", "jsonl", "--summary", s_arg][..], &year].concat(), None));
    seen.extend(run(&[&lists[..], &["--summary", q_arg]].concat(), None));
    seen.extend(texts_of(&summary));
    seen.extend(texts_of(&quarter));
    for id in ["5200010101001", "5200010101002", "5200010102001", "5200010201001"] {
        for f in ["text", "json"] {
            seen.extend(run(&[&["check", cur, "--id", id, "--format", f][..], &year].concat(), None));
        }
    }
    // The planted values did reach the outputs, masked.
    let all: String = seen.iter().map(|(_, t)| t.as_str()).collect();
    // (Full-width digits are read as ASCII, so the full-width ID shows as 520000********002X.)
    for masked in ["520000********0017", "520000********002X", "520000********003", "137 **** 7890", "'-2+3"] {
        assert!(all.contains(masked), "{masked} is shown masked");
    }
    assert!(all.contains("'=HYPERLINK"), "a formula is shown neutralised");
    let hits: Vec<String> = seen
        .iter()
        .flat_map(|(place, text)| {
            let bare = bare_digits(text);
            secrets.iter().filter(move |s| bare.contains(s.as_str())).map(move |s| format!("{s} in {place}"))
        })
        .collect();
    assert!(hits.is_empty(), "personal numbers shown:\n  {}", hits.join("\n  "));
    // Formulas: every cell of every CSV written, every cell of every workbook.
    let mut csvs = vec![d.join("a.csv"), d.join("s.csv"), d.join("q.csv")];
    csvs.extend(std::fs::read_dir(d.join("lists")).unwrap().map(|e| e.unwrap().path()));
    for path in csvs {
        let mut r = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_path(&path).unwrap();
        for rec in r.records() {
            for cell in rec.unwrap().iter() {
                assert!(!is_formula_cell(cell), "{}: formula cell {cell:?}", path.display());
            }
        }
    }
    for book in [d.join("a.xlsx"), d.join("lists.xlsx")] {
        use calamine::Reader;
        let mut wb = calamine::open_workbook_auto(&book).unwrap();
        for name in wb.sheet_names() {
            let f = wb.worksheet_formula(&name).unwrap();
            assert!(f.used_cells().all(|(_, _, s)| s.is_empty()), "{}: a formula in {name}", book.display());
        }
    }
    // And with --show-ids the numbers are there, so the scan can fail.
    let shown_ids = run(&[&["assess", cur, "--show-ids", "--format", "jsonl"][..], &year].concat(), None);
    let bare = bare_digits(&shown_ids.iter().map(|(_, t)| t.as_str()).collect::<String>());
    assert!(secrets.iter().filter(|s| bare.contains(s.as_str())).count() >= 6, "--show-ids shows them");
}
