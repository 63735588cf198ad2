"""course_utils: the helper package of "Large Models, from Theory to Practice".

Everything a chapter calls is listed below, each name with the module that defines it; open that
module to read how it works. Names are imported lazily, so `import course_utils` stays fast and
pulls in neither PyTorch nor TensorFlow until a notebook asks for something that needs them.
The instructor's and maintainer's tools (run, batch, data, doctor, colab) are in
course_utils/tools/ and are reached as `python -m course_utils COMMAND`; no chapter needs them.
"""

from importlib import import_module

__version__ = "0.2.0"

# public name -> module that defines it (one line each; add yours in the right group)
_EXPORTS = {
    # the one call at the top of every chapter: threads, TensorFlow, seeds, device
    "setup": "session",
    # profiles and notebook parameters
    "resolve_profile": "profiles",
    "active_profile": "profiles",
    "ProfileError": "profiles",
    # results a notebook reports to the runners
    "record": "results",
    "recorded": "results",
    # reproducibility and hardware
    "seed_everything": "seeding",
    "pick_device": "device",
    "device_report": "device",
    "configure_threads": "device",
    "on_colab": "colab",
    "import_keras": "frameworks",
    "setup_keras": "frameworks",
    # checking hand-derived gradients (chapters 02 and 03)
    "compare_grads": "gradcheck",
    "grad_table": "gradcheck",
    "numerical_grad": "gradcheck",
    "GradCheck": "gradcheck",
    # data
    "load_mnist": "data",
    "load_imdb": "data",
    "DataUnavailableError": "data",
    "data_dir": "data",
    # text to token ids (chapter 05)
    "tokenize": "text",
    "Vocabulary": "text",
    "encode_corpus": "text",
    "pad_ids": "text",
    "texts_to_ids": "text",
    # training engine (PyTorch), its Keras counterpart, plots
    "fit": "train",
    "evaluate": "train",
    "predict": "train",
    "save_checkpoint": "train",
    "load_checkpoint": "train",
    "EarlyStopping": "train",
    "random_shift_rotate": "augment",
    "ReviewLSTM": "models",
    "history_from_keras": "keras_bridge",
    "EpochTimer": "keras_bridge",
    "plot_history": "plots",
    "plot_image_grid": "plots",
    "plot_confusion_matrix": "plots",
    # chapter 07: subword tokens, a small GPT, pretraining data, verified pretrained weights
    "learn_bpe": "bpe",
    "apply_bpe": "bpe",
    "train_tokenizer": "bpe",
    "GPTConfig": "gpt",
    "GPT": "gpt",
    "GPTClassifier": "gpt",
    "lm_loss": "gpt",
    "n_params_formula": "gpt",
    "stream_blocks": "lm_data",
    "review_ids": "lm_data",
    "load_or_pretrain": "pretrained",
    "PretrainedError": "pretrained",
    # exercises that check themselves (docs/EXERCISES.md)
    "check": "exercises",
    "Wrong": "exercises",
    "expect": "exercises",
    "expect_close": "exercises",
    "expect_equal": "exercises",
    "expect_choice": "exercises",
    "answer_digest": "exercises",
    "exercise_summary": "exercises",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'course_utils' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return __all__
