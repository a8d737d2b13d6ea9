//! Tests for `transform` and `mapping`. Expected subjects marked "Go" were observed from
//! nats-server 2.9.10 with the same mapping (a `>` subscriber, one PUB per subject).

use proptest::prelude::*;

use crate::mapping::{MapDest, MappingError, Mappings, Selected};
use crate::transform::{validate_destination, Fnv1a32, Transform, TransformError};

fn map(src: &str, dest: &str, subject: &str) -> String {
    validate_destination(dest).unwrap();
    Transform::new(src, dest).unwrap().apply_str(subject)
}

fn err(src: &str, dest: &str) -> String {
    validate_destination(dest)
        .and_then(|_| Transform::new(src, dest).map(|_| ()))
        .unwrap_err()
        .to_string()
}

#[test]
fn fnv1a_matches_reference_values() {
    // Published FNV-1a 32 test vectors.
    let h = |s: &[u8]| {
        let mut f = Fnv1a32::new();
        f.write(s);
        f.finish()
    };
    assert_eq!(h(b""), 0x811c_9dc5);
    assert_eq!(h(b"a"), 0xe40c_292c);
    assert_eq!(h(b"foobar"), 0xbf9c_f968);
}

#[test]
fn partition_same_as_go() {
    let d = "P.{{partition(10,1,2)}}.$1.$2";
    for (s, want) in [
        ("p.a.b", "P.6.a.b"),
        ("p.foo.bar", "P.0.foo.bar"),
        ("p.1.2", "P.0.1.2"),
        ("p.ab.c", "P.1.ab.c"),
    ] {
        assert_eq!(map("p.*.*", d, s), want, "{s}");
    }
    for (s, want) in [
        ("q.a", "Q.5"),
        ("q.hello", "Q.2"),
        ("q.12345", "Q.4"),
        ("q.xyzzy", "Q.0"),
    ] {
        assert_eq!(map("q.*", "Q.{{partition(7,1)}}", s), want, "{s}");
    }
}

#[test]
fn wildcards_and_literals() {
    assert_eq!(
        map("w.*.*", "W.{{wildcard(2)}}.$1", "w.one.two"),
        "W.two.one"
    );
    assert_eq!(map("f.>", "F.>", "f.a.b.c"), "F.a.b.c");
    assert_eq!(map("f.*.>", "F.$1.>", "f.a.b.c"), "F.a.b.c");
    assert_eq!(map("foo", "bar", "foo"), "bar");
    // A literal source: the destination is used verbatim (Go).
    assert_eq!(map("lit", "x.$1", "lit"), "x.$1");
    // `$0` reads the first source token (Go's map default).
    assert_eq!(map("z.*", "Z.$0", "z.q"), "Z.z");
    // Not a number: a literal `$` token.
    assert_eq!(map("a.*", "b.$x.$1", "a.q"), "b.$x.q");
    // Function names: first letter of each word in either case.
    assert_eq!(map("a.*", "{{ Wildcard ( 1 ) }}", "a.q"), "q");
}

#[test]
fn split_functions_same_as_go() {
    let s = "S.{{split(1,-)}}";
    assert_eq!(map("s.*", s, "s.a-b--c"), "S.a.b.c");
    assert_eq!(map("s.*", s, "s.-a-b-"), "S.a.b");
    assert_eq!(map("s.*", s, "s.abc"), "S.abc");
    assert_eq!(map("s.*", s, "s.---"), "S.");
    assert_eq!(map("s.*", s, "s.--a"), "S..a");
    let l = "L.{{splitfromleft(1,2)}}.{{SplitFromRight(1,2)}}";
    assert_eq!(map("l.*", l, "l.abcdef"), "L.ab.cdef.abcd.ef");
    assert_eq!(map("l.*", l, "l.ab"), "L.ab.ab");
    assert_eq!(map("l.*", l, "l.a"), "L.a.a");
    let sl = "SL.{{slicefromleft(1,3)}}.x.{{sliceFromRight(1,3)}}";
    assert_eq!(map("sl.*", sl, "sl.abcdefgh"), "SL.abc.def.gh.x.ab.cde.fgh");
    assert_eq!(map("sl.*", sl, "sl.abc"), "SL.abc.x.abc");
    assert_eq!(map("sl.*", sl, "sl.abcdef"), "SL.abc.def.x.abc.def");
}

#[test]
fn errors_have_go_wording() {
    let p = "invalid mapping destination";
    assert_eq!(
        err("foo.*", "bar.$2"),
        format!("{p}: wildcard index out of range in $2: [2]")
    );
    assert_eq!(
        err("foo.*", "bar.{{nope(1)}}"),
        format!("{p}: unknown function in {{{{nope(1)}}}}")
    );
    assert_eq!(
        err("foo.*.*", "bar.$1"),
        format!("{p}: not using all of the token wildcard(s) in bar.$1")
    );
    assert_eq!(
        err("foo.*", "bar.{{wildcard()}}"),
        format!("{p}: not enough arguments passed to the function in {{{{wildcard()}}}}")
    );
    assert_eq!(
        err("foo.*", "bar.{{wildcard(1,2)}}"),
        format!("{p}: too many arguments passed to the function in {{{{wildcard(1,2)}}}}")
    );
    assert_eq!(
        err("foo.*", "bar.{{split(1)}}"),
        format!("{p}: not enough arguments passed to the function in {{{{split(1)}}}}")
    );
    assert_eq!(
        err("foo.*", "bar.{{partition(x,1)}}"),
        format!(
            "{p}: function argument is invalid or in the wrong format in {{{{partition(x,1)}}}}"
        )
    );
    assert_eq!(err("foo.*", "bar.*"), "invalid subject");
    assert_eq!(err("foo.>", "bar"), "invalid subject");
    assert_eq!(err("foo", "bar..x"), format!("{p}: invalid subject in "));
    assert_eq!(err("foo", "bar.>.x"), format!("{p}: invalid subject in x"));
    assert_eq!(err("foo", "bar.a b"), format!("{p}: invalid subject"));
    assert!(matches!(
        Transform::new("a.*", "{{partition(0,1)}}"),
        Err(TransformError::InvalidArgument(_))
    ));
}

#[test]
fn weighted_selection_and_remainder() {
    let mut m = Mappings::new();
    m.add_weighted("foo", &[MapDest::new("bar", 20), MapDest::new("baz", 30)])
        .unwrap();
    let i = m.find(b"foo").unwrap();
    assert!(!m.is_deterministic(i, ""));
    let mut out = Vec::new();
    let mut counts = std::collections::HashMap::new();
    for roll in 0..100u8 {
        assert_eq!(m.select(i, "", roll, b"foo", &mut out), Selected::Mapped);
        *counts
            .entry(String::from_utf8(out.clone()).unwrap())
            .or_insert(0) += 1;
    }
    assert_eq!(counts["bar"], 20);
    assert_eq!(counts["baz"], 30);
    assert_eq!(counts["foo"], 50, "the remainder keeps the subject");

    // The source listed explicitly: the remainder is dropped.
    let mut m = Mappings::new();
    m.add_weighted("foo", &[MapDest::new("foo", 40), MapDest::new("bar", 10)])
        .unwrap();
    let dropped = (0..100u8)
        .filter(|&r| m.select(0, "", r, b"foo", &mut out) == Selected::Dropped)
        .count();
    assert_eq!(dropped, 50);
}

#[test]
fn weight_errors() {
    let mut m = Mappings::new();
    assert_eq!(
        m.add_weighted("foo", &[MapDest::new("a", 60), MapDest::new("b", 50)]),
        Err(MappingError::TotalOver100)
    );
    assert_eq!(
        m.add_weighted("foo", &[MapDest::new("a", 6), MapDest::new("a", 5)])
            .unwrap_err()
            .to_string(),
        "duplicate entry for \"a\""
    );
    assert_eq!(
        m.add_weighted("foo", &[MapDest::new("a", 101)]),
        Err(MappingError::WeightOver100)
    );
    assert_eq!(m.add("foo..", "a"), Err(MappingError::BadSource));
    assert!(m.is_empty());
}

#[test]
fn cluster_scoped_destinations() {
    let mut m = Mappings::new();
    let east = MapDest {
        subject: "east".into(),
        weight: 100,
        cluster: Some("E".into()),
    };
    m.add_weighted("foo", &[east]).unwrap();
    let mut out = Vec::new();
    m.select(0, "E", 0, b"foo", &mut out);
    assert_eq!(out, b"east");
    // Elsewhere the unscoped set, here only the identity.
    m.select(0, "W", 0, b"foo", &mut out);
    assert_eq!(out, b"foo");
    assert!(m.is_cluster_scoped(0));
}

#[test]
fn first_match_wins_and_replace() {
    let mut m = Mappings::new();
    m.add("a.*", "x.$1").unwrap();
    m.add("a.b", "y").unwrap();
    m.add("a.>", "z.>").unwrap();
    assert_eq!(m.find(b"a.b"), Some(0));
    assert_eq!(m.find(b"a.b.c"), Some(2));
    assert_eq!(m.find(b"b"), None);
    m.add("a.*", "w.$1").unwrap();
    assert_eq!(m.len(), 3);
    let mut out = Vec::new();
    m.select(0, "", 0, b"a.q", &mut out);
    assert_eq!(out, b"w.q");
    assert!(m.remove("a.*"));
    assert_eq!(m.find(b"a.b"), Some(0));
}

fn token() -> impl Strategy<Value = String> {
    "[a-z0-9_-]{1,12}"
}

proptest! {
    /// Reordering wildcards is a permutation of tokens, and `>` carries the tail.
    #[test]
    fn wildcard_reorder(a in token(), b in token(), c in token(), tail in prop::collection::vec(token(), 1..4)) {
        let tr = Transform::new("x.*.*.*.>", "y.$3.{{wildcard(1)}}.$2.>").unwrap();
        let subject = format!("x.{a}.{b}.{c}.{}", tail.join("."));
        prop_assert_eq!(tr.apply_str(&subject), format!("y.{c}.{a}.{b}.{}", tail.join(".")));
    }

    /// Partitions are in range, stable, and depend only on the named tokens.
    #[test]
    fn partition_in_range(a in token(), b in token(), n in 1u32..50) {
        let tr = Transform::new("p.*.*", &format!("{{{{partition({n},1)}}}}.$2")).unwrap();
        let one = tr.apply_str(&format!("p.{a}.{b}"));
        let (part, rest) = one.split_once('.').unwrap();
        prop_assert!(part.parse::<u32>().unwrap() < n);
        prop_assert_eq!(rest, b.as_str());
        let other = tr.apply_str(&format!("p.{a}.zz{b}"));
        prop_assert_eq!(other.split_once('.').unwrap().0, part);
    }

    /// Slicing and splitting keep every byte, in order, and make valid tokens.
    #[test]
    fn slices_keep_bytes(t in "[a-z]{1,30}", k in 1i64..8) {
        for f in ["slicefromleft", "slicefromright", "splitfromleft", "splitfromright"] {
            let tr = Transform::new("s.*", &format!("{{{{{f}(1,{k})}}}}")).unwrap();
            let out = tr.apply_str(&format!("s.{t}"));
            prop_assert_eq!(out.replace('.', ""), t.clone());
            prop_assert!(out.split('.').all(|p| !p.is_empty()));
            if f.starts_with("slice") {
                prop_assert!(out.split('.').all(|p| p.len() as i64 <= k));
            }
        }
    }

    /// Split drops empty pieces and keeps the rest. (Go's quirk: two or more leading
    /// delimiters leave a leading `.`, an invalid subject nobody receives.)
    #[test]
    fn split_pieces(t in "[a-c-]{1,20}") {
        let tr = Transform::new("s.*", "{{split(1,-)}}").unwrap();
        let out = tr.apply_str(&format!("s.{t}"));
        prop_assert_eq!(out.replace('.', ""), t.replace('-', ""));
        if !t.starts_with("--") {
            let want: Vec<&str> = t.split('-').filter(|p| !p.is_empty()).collect();
            prop_assert_eq!(out, want.join("."));
        }
    }

    /// Weighted sets cover every roll once the identity fills the remainder.
    #[test]
    fn weights_cover(w1 in 0u8..=50, w2 in 0u8..=50) {
        let mut m = Mappings::new();
        m.add_weighted("foo", &[MapDest::new("a", w1), MapDest::new("b", w2)]).unwrap();
        let mut out = Vec::new();
        let mut got = [0u32; 3];
        for r in 0..100u8 {
            prop_assert_eq!(m.select(0, "", r, b"foo", &mut out), Selected::Mapped);
            match out.as_slice() {
                b"a" => got[0] += 1,
                b"b" => got[1] += 1,
                b"foo" => got[2] += 1,
                o => prop_assert!(false, "unexpected {:?}", o),
            }
        }
        prop_assert_eq!(got, [u32::from(w1), u32::from(w2), 100 - u32::from(w1) - u32::from(w2)]);
    }

    /// Never panics on arbitrary destinations and subjects.
    #[test]
    fn never_panics(dest in "[a-z${}(),0-9.* >-]{1,30}", subject in "[a-z.]{1,20}") {
        if validate_destination(&dest).is_ok() {
            if let Ok(tr) = Transform::new("a.*.>", &dest) {
                let mut out = Vec::new();
                tr.apply(subject.as_bytes(), &mut out);
            }
        }
    }
}
