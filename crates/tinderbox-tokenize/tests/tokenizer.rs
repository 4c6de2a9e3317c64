//! Tokenizers end to end: Keras' ids from the original implementation, training and
//! round-trips through `tokenizer.json`, padding and truncation, and awkward input.

use serde::Deserialize;
use tinderbox_tokenize::{
    EncodeOptions, KerasOptions, Padding, Side, TextTokenizer, TokenizeError, Tokenizer,
    TrainOptions, keras_words,
};

#[derive(Deserialize)]
struct Fixture {
    fit: Vec<String>,
    query: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    num_words: usize,
    maxlen: usize,
    sequences: Vec<Vec<u32>>,
    padded: Vec<Vec<u32>>,
    word_index_head: Vec<(String, u32)>,
}

fn fixture() -> Fixture {
    let text = include_str!("fixtures/keras_tokenizer.json");
    serde_json::from_str(text).unwrap()
}

#[test]
fn keras_ids_match_the_original() {
    let f = fixture();
    let queries: Vec<&str> = f.query.iter().map(String::as_str).collect();
    for case in &f.cases {
        let tok = Tokenizer::fit_keras(f.fit.iter(), &KerasOptions::new(case.num_words)).unwrap();
        // Keras keeps every word in word_index; the tokenizer holds those below num_words.
        for (word, index) in &case.word_index_head {
            if (*index as usize) < case.num_words {
                assert_eq!(tok.token_to_id(word), Some(*index), "{word}");
            }
        }
        let unpadded = EncodeOptions {
            add_special_tokens: false,
            ..EncodeOptions::default()
        };
        let batch = tok.encode_batch(&queries, &unpadded).unwrap();
        assert_eq!(batch.ids, case.sequences, "num_words {}", case.num_words);
        let padded = tok
            .encode_batch(&queries, &EncodeOptions::keras(case.maxlen))
            .unwrap();
        assert_eq!(padded.ids, case.padded, "num_words {}", case.num_words);
    }
}

#[test]
fn keras_words_and_the_pipeline_split_alike() {
    let options = KerasOptions::new(1000);
    let f = fixture();
    let tok = Tokenizer::fit_keras(f.fit.iter(), &options).unwrap();
    for text in &f.query {
        let words = keras_words(text, &options);
        let batch = tok.encode_batch(
            &[text],
            &EncodeOptions {
                add_special_tokens: false,
                ..EncodeOptions::default()
            },
        );
        assert_eq!(batch.unwrap().ids[0].len(), words.len(), "{text:?}");
    }
}

fn corpus() -> Vec<String> {
    let base = [
        "The quick brown fox jumps over the lazy dog.",
        "A journey of a thousand miles begins with a single step.",
        "Café crème brûlée — naïve façade; jalapeño piñata.",
        "東京は日本の首都です。北京是中国的首都。",
        "Emoji make reviews 🎬🍿 more fun 😀!",
        "Tokenizers split words into pieces, pieces into ids.",
    ];
    (0..20)
        .flat_map(|i| base.iter().map(move |s| format!("{s} {i}")))
        .collect()
}

#[test]
fn trained_tokenizers_round_trip_through_tokenizer_json() {
    let texts = corpus();
    let dir = tempfile::tempdir().unwrap();
    let options = TrainOptions::new(300);
    let trained = [
        (
            "wordpiece",
            Tokenizer::train_wordpiece(texts.iter(), &options).unwrap(),
        ),
        ("bpe", Tokenizer::train_bpe(texts.iter(), &options).unwrap()),
        (
            "word",
            Tokenizer::train_word_level(texts.iter(), &options).unwrap(),
        ),
    ];
    let probe: Vec<&str> = texts.iter().take(6).map(String::as_str).collect();
    for (name, tok) in trained {
        assert!(tok.vocab_size() <= 300, "{name}: {}", tok.vocab_size());
        let path = dir.path().join(format!("{name}.json"));
        tok.save(&path).unwrap();
        let loaded = Tokenizer::from_file(&path).unwrap();
        assert_eq!(loaded.to_json().unwrap(), tok.to_json().unwrap(), "{name}");
        let options = EncodeOptions::dynamic(64);
        assert_eq!(
            loaded.encode_batch(&probe, &options).unwrap(),
            tok.encode_batch(&probe, &options).unwrap(),
            "{name}"
        );
        assert_eq!(loaded.special_tokens(), tok.special_tokens());
    }
}

#[test]
fn wordpiece_encodes_and_decodes_non_ascii_text() {
    let texts = corpus();
    let tok = Tokenizer::train_wordpiece(texts.iter(), &TrainOptions::new(400)).unwrap();
    let special = tok.special_tokens();
    assert_eq!(special.pad.unwrap().id, 0);
    assert_eq!(special.cls.clone().unwrap().id, 2);
    let text = "Café crème — 東京 🚀";
    let batch = tok
        .encode_batch(&[text], &EncodeOptions::default())
        .unwrap();
    assert_eq!(batch.tokens[0].first().map(String::as_str), Some("[CLS]"));
    assert_eq!(batch.tokens[0].last().map(String::as_str), Some("[SEP]"));
    // Offsets point into the original text ([UNK] too); added special tokens have empty spans.
    for (token, &(start, end)) in batch.tokens[0].iter().zip(&batch.offsets[0]) {
        if token == "[CLS]" || token == "[SEP]" {
            assert_eq!(start, end);
        } else {
            assert!(
                text.is_char_boundary(start) && text.is_char_boundary(end),
                "{token}"
            );
        }
    }
    // BERT's normaliser lowercases and strips accents; the rocket was never seen: [UNK].
    let decoded = tok.decode(&batch.ids[0], true).unwrap();
    assert_eq!(decoded, "cafe creme — 東 京");
    let unk = special.unk.unwrap().id;
    assert!(batch.ids[0].contains(&unk));
}

#[test]
fn padding_and_truncation_on_either_side() {
    let tok = Tokenizer::train_wordpiece(corpus().iter(), &TrainOptions::new(300)).unwrap();
    let texts = ["the quick brown fox", "a"];
    let right = tok
        .encode_batch(&texts, &EncodeOptions::dynamic(128))
        .unwrap();
    let n = right.ids[0].len();
    assert_eq!(right.ids[1].len(), n);
    assert_eq!(right.lengths(), vec![n, 3]);
    assert_eq!(right.attention_mask[1][..3], [1, 1, 1]);
    assert!(right.ids[1][3..].iter().all(|&id| id == 0));

    let left = tok
        .encode_batch(
            &texts,
            &EncodeOptions {
                padding: Padding::Fixed(8),
                padding_side: Side::Left,
                ..EncodeOptions::default()
            },
        )
        .unwrap();
    assert_eq!(left.ids[1].len(), 8);
    assert_eq!(left.attention_mask[1], vec![0, 0, 0, 0, 0, 1, 1, 1]);

    // Truncation keeps [CLS] and [SEP] and removes words from the chosen end.
    let words = "the quick brown fox jumps over the lazy dog";
    let full = tok
        .encode_batch(&[words], &EncodeOptions::default())
        .unwrap();
    for side in [Side::Left, Side::Right] {
        let cut = tok
            .encode_batch(
                &[words],
                &EncodeOptions {
                    max_length: Some(5),
                    truncation_side: side,
                    ..EncodeOptions::default()
                },
            )
            .unwrap();
        let ids = &cut.ids[0];
        assert_eq!(ids.len(), 5);
        assert_eq!((ids[0], ids[4]), (2, 3), "[CLS] ... [SEP]");
        let inner = &full.ids[0][1..full.ids[0].len() - 1];
        let expected = match side {
            Side::Right => &inner[..3],
            Side::Left => &inner[inner.len() - 3..],
        };
        assert_eq!(&ids[1..4], expected, "{side:?}");
    }
    let err = tok
        .encode_batch(
            &["x"],
            &EncodeOptions {
                max_length: Some(2),
                ..EncodeOptions::default()
            },
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("max_length 2 leaves no room"),
        "{err}"
    );
}

#[test]
fn empty_whitespace_unknown_and_very_long_texts() {
    let tok = Tokenizer::train_wordpiece(corpus().iter(), &TrainOptions::new(300)).unwrap();
    let long = "pieces ".repeat(5000);
    let texts = ["", "   \t\n ", "zzzqqqxxx", long.as_str()];
    let batch = tok
        .encode_batch(&texts, &EncodeOptions::dynamic(64))
        .unwrap();
    assert_eq!(batch.lengths()[0], 2, "[CLS] [SEP]");
    assert_eq!(batch.lengths()[1], 2);
    assert!(
        batch.ids[2].contains(&1),
        "unknown word maps to [UNK]: {:?}",
        batch.tokens[2]
    );
    assert_eq!(batch.ids[3].len(), 64);
    assert!(batch.ids.iter().all(|ids| ids.len() == 64));
    let empty: [&str; 0] = [];
    assert!(
        tok.encode_batch(&empty, &EncodeOptions::dynamic(8))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn padding_without_a_pad_token_is_an_error() {
    let texts = corpus();
    let mut tok = Tokenizer::train_bpe(texts.iter(), &TrainOptions::new(300)).unwrap();
    let json = tok.to_json().unwrap().replace("<pad>", "<nothing>");
    tok = Tokenizer::from_bytes(json.as_bytes()).unwrap();
    let err = tok
        .encode_batch(&["a", "bb"], &EncodeOptions::dynamic(16))
        .unwrap_err();
    assert!(matches!(err, TokenizeError::Options(_)), "{err}");
    assert!(err.to_string().contains("no padding token"), "{err}");
}

#[test]
fn corrupt_or_foreign_tokenizer_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let tok = Tokenizer::train_wordpiece(corpus().iter(), &TrainOptions::new(300)).unwrap();
    let good = tok.to_json().unwrap();
    let cases = [
        (
            "truncated.json",
            good[..good.floor_char_boundary(good.len() / 2)].to_string(),
        ),
        ("not-json.json", "this is not json".to_string()),
        (
            "wrong-model.json",
            good.replace("\"WordPiece\"", "\"SentencePieceBPE9000\""),
        ),
        ("empty.json", String::new()),
    ];
    for (name, content) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        let err = Tokenizer::from_file(&path).unwrap_err();
        assert!(matches!(err, TokenizeError::Load { .. }), "{name}: {err}");
        assert!(err.to_string().contains(name), "{err}");
    }
    let err = Tokenizer::from_file(dir.path().join("missing.json")).unwrap_err();
    assert!(err.to_string().contains("missing.json"), "{err}");
}

#[test]
fn training_refuses_a_vocabulary_smaller_than_its_special_tokens() {
    let err = Tokenizer::train_wordpiece(corpus().iter(), &TrainOptions::new(5)).unwrap_err();
    assert!(
        err.to_string().contains("must exceed the 5 special tokens"),
        "{err}"
    );
    let err = Tokenizer::fit_keras(corpus().iter(), &KerasOptions::new(2)).unwrap_err();
    assert!(err.to_string().contains("num_words 2"), "{err}");
}
