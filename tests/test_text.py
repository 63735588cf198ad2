"""course_utils.text: tokenizer, vocabulary, padding and the token cache (chapter 05)."""

import numpy as np
import pytest

from course_utils import text as T


def test_tokenize_strips_html_breaks_and_keeps_contractions():
    assert T.tokenize("Great<br /><br />FILM, isn't it?!") == ["great", "film", "isn't", "it", "?", "!"]


def test_vocabulary_is_built_by_frequency_with_stable_ties():
    vocab = T.Vocabulary.build([["b", "a", "c"], ["a", "c", "d"]], size=5)
    assert vocab.words == ["<pad>", "<oov>", "a", "c", "b"]  # a, c twice; b before d alphabetically
    assert len(vocab) == 5
    assert vocab.encode(["a", "zzz", "b"]) == [2, T.OOV, 4]
    with pytest.raises(ValueError):
        T.Vocabulary.build([["a"]], size=2)


def test_encode_and_pad_keep_end_or_start():
    vocab = T.Vocabulary(["w1", "w2", "w3", "w4"])
    seqs = T.encode([["w1", "w2", "w3", "w4"], ["w2"], []], vocab)
    assert seqs.flat.dtype == np.int32 and seqs.lengths.tolist() == [4, 1, 0]
    end = T.pad_ids(seqs, 3, keep="end")
    start = T.pad_ids(seqs, 3, keep="start")
    assert end.tolist() == [[3, 4, 5], [3, 0, 0], [0, 0, 0]]
    assert start.tolist() == [[2, 3, 4], [3, 0, 0], [0, 0, 0]]
    assert end.dtype == np.int32
    with pytest.raises(ValueError):
        T.pad_ids(seqs, 3, keep="middle")


def test_ragged_take_matches_indexing():
    seqs = T.Ragged(np.arange(10, dtype=np.int32), np.array([0, 3, 3, 7, 10]))
    sub = seqs.take([3, 0, 2])
    assert [sub[i].tolist() for i in range(3)] == [[7, 8, 9], [0, 1, 2], [3, 4, 5, 6]]
    assert seqs.take(np.array([False, True, True, False]))[1].tolist() == [3, 4, 5, 6]


def test_encode_corpus_uses_training_rows_only_and_caches(tmp_path):
    texts = ["good good film", "bad film", "secret test words"]
    train = [True, True, False]
    first = T.encode_corpus(texts, train, size=10, cache_dir=tmp_path)
    assert not first.from_cache and first.path.suffix == ".npz"
    assert "secret" not in first.vocab.index  # the test row does not shape the vocabulary
    assert first.ids[2].tolist() == [T.OOV] * 3
    again = T.encode_corpus(texts, train, size=10, cache_dir=tmp_path)
    assert again.from_cache and again.vocab.words == first.vocab.words
    assert np.array_equal(again.ids.flat, first.ids.flat)
    with np.load(again.path, allow_pickle=False) as z:  # plain arrays, no pickle
        assert z["flat"].dtype == np.int32
    other = T.encode_corpus(texts, train, size=9, cache_dir=tmp_path)
    assert other.path != first.path and not other.from_cache


def test_texts_to_ids_for_new_sentences():
    vocab = T.Vocabulary(["a", "great", "film"])
    ids = T.texts_to_ids(["A great<br />film", "unknown"], vocab, maxlen=4)
    assert ids.tolist() == [[2, 3, 4, 0], [T.OOV, 0, 0, 0]]
