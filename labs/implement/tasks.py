"""What each implement-mode lab asks for: the file, the functions, and the checks with their points.

A task is the contract between the scaffold the learner receives, the checker that calls the learner's
functions in their confined process, and the app that records the grade. Checks come in four stages, in order:

    1 structure   the file imports; each function exists, can be called as the scaffold says, is written
    2 forward     per function: shapes, dtypes and values on fixed inputs, against the reference
    3 gradient    per backward function: shapes, then every gradient against central finite differences
                  in float64 (normwise relative error < 1e-6), with a diagnosis when it is off
    4 train       the network assembled from the learner's functions trains to the lab's target

Stages 2 and 3 are checked per function, so one mistake costs its own check; a file that does not import
stops at stage 1, and stage 4 runs only when every earlier check passed (training on a wrong gradient
would only waste the learner's time, and its failure would say less than the check that caught it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from labs.grading import CheckSpec

STRUCTURE = "structure"
TRAIN = "train"
PASS_MARK = 100.0
"""Implement mode earns the highest mastery, so it passes only when every check does."""


class FunctionSpec(BaseModel):
    """A function the learner writes; the grader calls it positionally with these parameters."""

    name: str
    params: tuple[str, ...]


class Task(BaseModel):
    lab_id: str
    filename: str
    module: str
    """the reference solution is `labs.implement.solutions.<module>`, its checks `labs.implement.checks.<module>`"""
    dataset: Literal["digits", "text", "linear", "spirals", "none"]
    """what the training check learns from (recorded as the attempt's dataset hash; "none": no data)"""
    functions: tuple[FunctionSpec, ...]
    checks: tuple[CheckSpec, ...]
    pass_mark: float = PASS_MARK
    uses: str = ""
    """what the lab's experiments train, in the lab screen's words: "library Linear and ReLU, the same maths
    you wrote in Feed-forward networks" ('' : the screen says the library's network, and names your build)"""
    timeout_s: float | None = None
    """seconds the grader allows this task when the caller names none (None: grader.DEFAULT_TIMEOUT_S); a
    build whose training is the library's full-size network needs more than the default"""

    def check(self, check_id: str) -> CheckSpec:
        for spec in self.checks:
            if spec.id == check_id:
                return spec
        raise KeyError(f"{self.lab_id} has no check {check_id!r}")


def _checks(forward: dict[str, float], gradient: dict[str, float], structure: float, train: float,
            train_title: str) -> tuple[CheckSpec, ...]:
    specs = [CheckSpec(id=STRUCTURE, title="file imports, functions written with the scaffold's signatures",
                       points=structure)]
    specs += [CheckSpec(id=f"forward:{name}", title=f"{name}: shapes and values", points=p)
              for name, p in forward.items()]
    specs += [CheckSpec(id=f"gradient:{name}", title=f"{name}: gradients match finite differences", points=p)
              for name, p in gradient.items()]
    specs.append(CheckSpec(id=TRAIN, title=train_title, points=train, required=True))
    total = sum(s.points for s in specs)
    if total != 100:
        raise ValueError(f"check points must add up to 100, got {total}")
    return tuple(specs)


def _fn(name: str, *params: str) -> FunctionSpec:
    return FunctionSpec(name=name, params=params)


TASKS: dict[str, Task] = {
    t.lab_id: t
    for t in (
        Task(
            lab_id="ffnn-digits", filename="ffnn_digits.py", module="ffnn_digits", dataset="digits",
            functions=(
                _fn("linear_forward", "x", "W", "b"),
                _fn("linear_backward", "dout", "x", "W"),
                _fn("relu_forward", "x"),
                _fn("relu_backward", "dout", "x"),
                _fn("softmax_cross_entropy", "logits", "y"),
                _fn("sgd_update", "param", "grad", "lr"),
                _fn("he_init", "draws", "fan_in", "fan_out"),
                _fn("minibatches", "n", "batch_size", "permutation"),
                _fn("momentum_step", "p", "g", "v", "lr", "beta"),
                _fn("adam_step", "p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
                _fn("train_epoch", "params", "x", "y", "batch_size", "perm", "lr", "state"),
                _fn("accuracy", "logits", "y"),
                _fn("evaluate", "params", "x_train", "y_train", "x_test", "y_test"),
            ),
            checks=_checks(
                forward={"linear_forward": 5, "relu_forward": 3, "softmax_cross_entropy": 5, "sgd_update": 2,
                         "he_init": 5, "minibatches": 5, "momentum_step": 5, "adam_step": 8, "train_epoch": 8,
                         "accuracy": 3, "evaluate": 3},
                gradient={"linear_backward": 8, "relu_backward": 5, "softmax_cross_entropy": 5},
                structure=10, train=20,
                train_title="your pipeline (your he_init, train_epoch and adam_step) trains your two-layer "
                            "network to 90% held-out accuracy on the digits, as your evaluate reports",
            ),
        ),
        Task(
            lab_id="cnn-digits", filename="cnn_digits.py", module="cnn_digits", dataset="digits",
            functions=(
                _fn("conv2d_forward", "x", "W", "b", "pad"),
                _fn("conv2d_backward", "dout", "x", "W", "pad"),
                _fn("maxpool_forward", "x", "size"),
                _fn("maxpool_backward", "dout", "x", "size"),
                _fn("flatten_forward", "x"),
                _fn("flatten_backward", "dout", "x"),
                _fn("head_forward", "feats", "W", "b"),
                _fn("head_backward", "dout", "feats", "W"),
            ),
            checks=_checks(
                forward={"conv2d_forward": 12, "maxpool_forward": 8, "flatten_forward": 4, "head_forward": 4},
                gradient={"conv2d_backward": 20, "maxpool_backward": 12, "flatten_backward": 5, "head_backward": 5},
                structure=10, train=20,
                train_title="your ConvNet (your convolution, pooling, flatten and head) reaches 90% test "
                            "accuracy on the digits",
            ),
        ),
        Task(
            lab_id="transfer-digits", filename="transfer_digits.py", module="transfer_digits", dataset="digits",
            functions=(
                _fn("shift_images", "images", "dx", "dy"),
                _fn("rotate_images", "images", "degrees"),
                _fn("add_noise", "images", "z", "sigma"),
                _fn("augment_batch", "images", "labels", "permutation", "dx", "dy", "degrees", "z", "sigma"),
                _fn("training_and_test", "train_images", "train_labels", "test_images", "test_labels",
                    "permutation", "dx", "dy", "degrees", "z", "sigma"),
                _fn("freeze_mask", "names", "head", "strategy"),
                _fn("finetune_step", "params", "grads", "velocities", "trainable", "lr", "momentum",
                    "weight_decay"),
            ),
            checks=_checks(
                forward={"shift_images": 10, "rotate_images": 15, "add_noise": 5, "augment_batch": 10,
                         "training_and_test": 5, "freeze_mask": 5, "finetune_step": 10},
                gradient={}, structure=10, train=30,
                train_title="the library's ConvNet, pretrained on 0-4 and fine-tuned on 50 labels of 5-9 through "
                            "your mask, step and augmentation: frozen layers unchanged, beats training from "
                            "scratch, and your augmentation lifts accuracy on shifted digits",
            ),
            uses="library ConvNet, pretrained on the digits 0-4, the network you built in Convolutional "
                 "networks; your augmentation, data preparation, freeze mask and fine-tuning step",
            timeout_s=240.0,  # the library's ConvNet pretrains and fine-tunes four times in the checker
        ),
        Task(
            lab_id="rnn-chars", filename="rnn_chars.py", module="rnn_chars", dataset="text",
            functions=(
                _fn("rnn_step_forward", "x", "h_prev", "Wx", "Wh", "b"),
                _fn("rnn_step_backward", "dh", "x", "h_prev", "h", "Wx", "Wh"),
                _fn("rnn_forward", "x", "h0", "Wx", "Wh", "b"),
                _fn("rnn_backward", "dhs", "x", "h0", "hs", "Wx", "Wh"),
                _fn("clip_by_global_norm", "grads", "max_norm"),
                _fn("sample_next", "logits", "temperature", "u"),
            ),
            checks=_checks(
                forward={"rnn_step_forward": 5, "rnn_forward": 5, "clip_by_global_norm": 10, "sample_next": 10},
                gradient={"rnn_step_backward": 15, "rnn_backward": 25},
                structure=10, train=20,
                train_title="your RNN, clipped by your clipping, learns Shakespeare's characters "
                            "(validation loss <= 2.30) and writes with your sampling",
            ),
        ),
        Task(
            lab_id="transformer-chars", filename="transformer_chars.py", module="transformer_chars",
            dataset="text",
            functions=(
                _fn("attention_forward", "q", "k", "v"),
                _fn("attention_backward", "dout", "q", "k", "v"),
                _fn("split_heads", "x", "n_heads"),
                _fn("merge_heads", "x"),
                _fn("block_forward", "x", "params", "n_heads"),
                _fn("block_backward", "dout", "x", "params", "n_heads"),
            ),
            checks=_checks(
                forward={"attention_forward": 15, "split_heads": 5, "merge_heads": 5, "block_forward": 10},
                gradient={"attention_backward": 20, "block_backward": 15},
                structure=10, train=20,
                train_title="your transformer block learns Shakespeare's characters (validation loss <= 2.40)",
            ),
        ),
        Task(
            lab_id="gd-linear", filename="gd_linear.py", module="gd_linear", dataset="linear",
            functions=(
                _fn("mse_loss", "X", "y", "w", "b"),
                _fn("mse_gradient", "X", "y", "w", "b"),
                _fn("gd_step", "w", "b", "dw", "db", "lr"),
                _fn("gradient_descent", "X", "y", "w", "b", "lr", "tol", "max_steps"),
            ),
            checks=_checks(
                forward={"mse_loss": 10, "gd_step": 10, "gradient_descent": 20},
                gradient={"mse_gradient": 25},
                structure=10, train=25,
                train_title="your gradient-descent loop fits the lab's data to within 1 % of least squares",
            ),
        ),
        Task(
            lab_id="backprop-spirals", filename="backprop_spirals.py", module="backprop_spirals",
            dataset="spirals",
            functions=(
                _fn("forward", "X", "W1", "b1", "W2", "b2"),
                _fn("loss", "logits", "y"),
                _fn("backward", "X", "y", "h", "logits", "W2"),
                _fn("grad_check", "f", "x", "analytic", "eps"),
            ),
            checks=_checks(
                forward={"forward": 10, "loss": 10, "grad_check": 20},
                gradient={"backward": 25},
                structure=10, train=25,
                train_title="your network, on your gradients, reaches 0.95 train accuracy on the spirals",
            ),
        ),
        Task(
            lab_id="classic-vs-deep", filename="classic_vs_deep.py", module="classic_vs_deep",
            dataset="spirals",
            functions=(
                _fn("sigmoid", "z"),
                _fn("predict_proba", "X", "w", "b"),
                _fn("bce_loss", "X", "y", "w", "b"),
                _fn("predict", "X", "w", "b"),
                _fn("decision_boundary", "w", "b", "x1"),
            ),
            checks=_checks(
                forward={"sigmoid": 10, "predict_proba": 5, "bce_loss": 10, "predict": 5, "decision_boundary": 10},
                gradient={"bce_loss": 25},
                structure=10, train=25,
                train_title="your logistic regression fits separable clouds (0.95) and scores on two spiral "
                            "arms what a linear model scores",
            ),
        ),
        Task(
            lab_id="model-size", filename="model_size.py", module="model_size", dataset="none",
            functions=(
                _fn("linear_parameters", "d_in", "d_out", "bias"),
                _fn("conv2d_parameters", "c_in", "c_out", "kernel", "bias"),
                _fn("embedding_parameters", "vocab", "dim"),
                _fn("layernorm_parameters", "dim"),
                _fn("attention_parameters", "dim", "n_heads", "bias"),
                _fn("transformer_parameters", "vocab", "context", "n_layer", "dim", "tied", "bias"),
                _fn("matmul_flops", "m", "k", "n"),
                _fn("transformer_flops_per_token", "vocab", "context", "n_layer", "dim", "exact"),
                _fn("training_flops", "flops_per_token", "tokens"),
                _fn("mlp_activations", "sizes", "batch"),
                _fn("training_memory_bytes", "n_params", "n_activations", "dtype"),
            ),
            checks=_checks(
                forward={"linear_parameters": 6, "conv2d_parameters": 6, "embedding_parameters": 3,
                         "layernorm_parameters": 3, "attention_parameters": 6, "transformer_parameters": 10,
                         "matmul_flops": 5, "transformer_flops_per_token": 8, "training_flops": 5,
                         "mlp_activations": 5, "training_memory_bytes": 8},
                gradient={}, structure=10, train=25,
                train_title="your functions count the labs' networks exactly: the model-size MLP, the "
                            "cnn-digits ConvNet and the capstone's transformer",
            ),
        ),
        Task(
            lab_id="scaling-laws", filename="scaling_laws.py", module="scaling_laws", dataset="none",
            functions=(
                _fn("fit_fixed_floor", "n", "loss", "E"),
                _fn("fit_power_law", "n", "loss"),
                _fn("predict_loss", "n", "E", "A", "alpha"),
            ),
            checks=_checks(
                forward={"fit_fixed_floor": 20, "fit_power_law": 35, "predict_loss": 10},
                gradient={}, structure=10, train=25,
                train_title="your fit of the lab's measured runs: the reference exponent within 10%, and "
                            "the largest model predicted from the smaller ones",
            ),
        ),
        Task(
            lab_id="optimisers", filename="optimisers.py", module="optimisers", dataset="none",
            functions=(
                _fn("sgd_step", "p", "g", "lr"),
                _fn("momentum_step", "p", "g", "v", "lr", "mu"),
                _fn("nesterov_step", "p", "g", "v", "lr", "mu"),
                _fn("rmsprop_step", "p", "g", "s", "lr", "alpha", "eps"),
                _fn("adam_step", "p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps"),
                _fn("adamw_step", "p", "g", "m", "v", "t", "lr", "beta1", "beta2", "eps", "wd"),
                _fn("lr_schedule", "step", "total_steps", "base_lr", "warmup_steps"),
            ),
            checks=_checks(
                forward={"sgd_step": 5, "momentum_step": 10, "nesterov_step": 10, "rmsprop_step": 10,
                         "adam_step": 15, "adamw_step": 10, "lr_schedule": 10},
                gradient={}, structure=10, train=20,
                train_title="your rules race on a quadratic of condition number 100: plain SGD needs the most "
                            "steps to the tolerance, Nesterov no more than momentum, as the lesson's theory says",
            ),
        ),
        Task(
            lab_id="deep-nets", filename="deep_nets.py", module="deep_nets", dataset="digits",
            functions=(
                _fn("batchnorm_forward", "x", "gamma", "beta", "running_mean", "running_var", "training",
                    "momentum", "eps"),
                _fn("batchnorm_backward", "dout", "x", "gamma", "eps"),
                _fn("residual_forward", "x", "W1", "b1", "W2", "b2"),
                _fn("residual_backward", "dout", "x", "W1", "b1", "W2", "b2"),
            ),
            checks=_checks(
                forward={"batchnorm_forward": 20, "residual_forward": 10},
                gradient={"batchnorm_backward": 20, "residual_backward": 20},
                structure=10, train=20,
                train_title="a 20-layer network of your BatchNorm and nine of your residual blocks trains on the "
                            "digits to 0.90 test accuracy, judged in evaluation mode",
            ),
        ),
        Task(
            lab_id="capstone-ml-engineer", filename="capstone_ml_engineer.py", module="capstone_ml_engineer",
            dataset="digits",
            functions=(
                _fn("stratified_split", "labels", "val_fraction", "permutation"),
                _fn("lr_schedule", "step", "total_steps", "base_lr", "warmup_steps"),
                _fn("early_stopping", "history", "patience"),
                _fn("evaluate", "train_logits", "y_train", "test_logits", "y_test", "z"),
            ),
            checks=_checks(
                forward={"stratified_split": 15, "lr_schedule": 15, "early_stopping": 15, "evaluate": 15},
                gradient={}, structure=10, train=30,
                train_title="the library's ConvNet, trained through your split, schedule and stopping rule, "
                            "reaches 0.98 test accuracy, as your evaluate reports it",
            ),
            uses="library ConvNet and Adam, the network you built in Convolutional networks; your split, "
                 "schedule, stopping rule and evaluation",
        ),
        Task(
            lab_id="capstone-research-scientist", filename="capstone_research_scientist.py",
            module="capstone_research_scientist", dataset="digits",
            functions=(
                _fn("summarise", "accuracies"),
                _fn("effect", "on", "off"),
                _fn("verdict", "on", "off", "threshold"),
                _fn("need_more_seeds", "on", "off", "min_seeds", "max_std_error"),
            ),
            checks=_checks(
                forward={"summarise": 15, "effect": 20, "verdict": 15, "need_more_seeds": 15},
                gradient={}, structure=10, train=25,
                train_title="the dropout ablation, run with the library's MLP until your need_more_seeds stops "
                            "it, meets the capstone's standards and is reported by your pieces",
            ),
            uses="library MLP and Adam, the network you built in Feed-forward networks; your summary, effect, "
                 "verdict and seed count",
        ),
        Task(
            lab_id="capstone-mlops-engineer", filename="capstone_mlops_engineer.py",
            module="capstone_mlops_engineer", dataset="digits",
            functions=(
                _fn("digest", "arrays"),
                _fn("identical", "a", "b"),
                _fn("latency_ms", "times_s", "warmup"),
                _fn("regression_gate", "candidate", "baseline", "min_accuracy", "max_drop"),
            ),
            checks=_checks(
                forward={"digest": 20, "identical": 15, "latency_ms": 15, "regression_gate": 15},
                gradient={}, structure=10, train=25,
                train_title="the library's MLP, judged by your verdicts, is reproducible bit for bit, survives a "
                            "save/load round trip, serves within 1 ms and passes your regression gate",
            ),
            uses="library MLP and Adam, the network you built in Feed-forward networks; your hash, comparison, "
                 "latency reading and regression gate",
        ),
        Task(
            lab_id="capstone-data-scientist", filename="capstone_data_scientist.py",
            module="capstone_data_scientist", dataset="spirals",
            functions=(
                _fn("holdout_split", "n", "val_fraction", "permutation"),
                _fn("wilson_interval", "correct", "n", "z"),
                _fn("ab_test", "correct_a", "n_a", "correct_b", "n_b"),
                _fn("conclusion", "interval_a", "interval_b"),
            ),
            checks=_checks(
                forward={"holdout_split": 15, "wilson_interval": 15, "ab_test": 20, "conclusion": 15},
                gradient={}, structure=10, train=25,
                train_title="the library's logistic regression and network, trained on your split, compared by "
                            "your intervals and test: narrow, the network above 0.85, the two separated",
            ),
            uses="library logistic regression and two-layer network, the models you built in Classic vs deep "
                 "and Backpropagation; your split, intervals, test and conclusion",
        ),
        Task(
            lab_id="capstone-cv-engineer", filename="capstone_cv_engineer.py", module="capstone_cv_engineer",
            dataset="digits",
            functions=(
                _fn("shift", "images", "dx", "dy"),
                _fn("augment_batch", "images", "choices"),
                _fn("confusion_matrix", "y_true", "y_pred", "n_classes"),
                _fn("per_class_metrics", "counts"),
            ),
            checks=_checks(
                forward={"shift": 15, "augment_batch": 15, "confusion_matrix": 15, "per_class_metrics": 15},
                gradient={}, structure=10, train=30,
                train_title="a residual ConvNet with batch norm, trained on batches your augmentation moves, "
                            "reaches 0.98 test accuracy and 0.95 on shifted digits, read by your per-class metrics",
            ),
            uses="library conv, BatchNorm2d and residual blocks with Adam, the layers of Convolutional networks "
                 "and Training deep networks; your shift, augmentation, confusion matrix and per-class metrics",
        ),
        Task(
            lab_id="capstone-ai-product-manager", filename="capstone_ai_product_manager.py",
            module="capstone_ai_product_manager", dataset="none",
            functions=(
                _fn("estimate_parameters", "vocab", "context", "n_layer", "dim"),
                _fn("training_cost", "n_params", "tokens", "flops_per_second", "dollars_per_hour"),
                _fn("training_memory_mb", "n_params", "bytes_per_number"),
                _fn("serving_latency_ms", "n_params", "tokens_out", "flops_per_second"),
            ),
            checks=_checks(
                forward={"estimate_parameters": 20, "training_cost": 15, "training_memory_mb": 15,
                         "serving_latency_ms": 15},
                gradient={}, structure=10, train=25,
                train_title="your estimates of the capstone's proposed GPT (and two other sizes) are within the "
                            "capstone's tolerances of the built library model",
            ),
            uses="library TinyGPT, built and counted, never trained; your size, cost, memory and latency "
                 "estimates",
        ),
        Task(
            lab_id="capstone-llm-engineer", filename="capstone_llm_engineer.py", module="capstone_llm_engineer",
            dataset="text",
            functions=(
                _fn("windows", "ids", "starts", "seq_len"),
                _fn("lr_at", "step", "total_steps", "base_lr", "warmup_steps", "final_lr"),
                _fn("loss_report", "token_nats", "n_chars"),
                _fn("sample_next", "logits", "temperature", "top_k", "u"),
            ),
            checks=_checks(
                forward={"windows": 15, "lr_at": 15, "loss_report": 15, "sample_next": 15},
                gradient={}, structure=10, train=30,
                train_title="the library's modern LM on BPE tokens, trained on your windows at your rates, reaches "
                            "the capstone's 2.7 bits per character as your loss_report reports it, and writes "
                            "through its KV cache with your sampling",
            ),
            uses="library ModernLM and AdamW, the RMSNorm, SwiGLU and rotary attention you built in The modern "
                 "transformer, on Tokenization's BPE; your windows, schedule, loss report and sampling",
            timeout_s=240.0,  # the capstone's own limit (its training budget, doubled for a loaded machine)
        ),
        Task(
            lab_id="bpe-tokens", filename="bpe_tokens.py", module="bpe_tokens", dataset="text",
            functions=(
                _fn("pair_counts", "ids", "word_ids"),
                _fn("best_pair", "pairs", "counts", "flat", "offsets"),
                _fn("merge_pair", "ids", "word_ids", "a", "b", "new_id"),
                _fn("encode_word", "byte_ids", "merges"),
                _fn("decode", "ids", "flat", "offsets"),
            ),
            checks=_checks(
                forward={"pair_counts": 12, "best_pair": 12, "merge_pair": 12, "encode_word": 12, "decode": 12},
                gradient={}, structure=10, train=30,
                train_title="your pair counts, tie-break and merge train a tokenizer on Shakespeare with the "
                            "library's merges; your encoder gives its ids on unseen text, your decoder the text",
            ),
        ),
        Task(
            lab_id="decoding-sweep", filename="decoding_sweep.py", module="decoding_sweep", dataset="text",
            functions=(
                _fn("top_k_filter", "logits", "k"),
                _fn("top_p_filter", "logits", "p"),
                _fn("sample_token", "logits", "temperature", "top_k", "top_p", "u"),
                _fn("rope_rotate", "x", "positions", "theta"),
                _fn("cached_attention", "q", "k", "v", "k_cache", "v_cache"),
                _fn("cached_step", "q", "k", "v", "k_cache", "v_cache", "theta"),
            ),
            checks=_checks(
                forward={"top_k_filter": 10, "top_p_filter": 12, "sample_token": 8, "rope_rotate": 10,
                         "cached_attention": 12, "cached_step": 8},
                gradient={}, structure=10, train=30,
                train_title="a small modern model, decoded through your cache in every layer, gives the full "
                            "pass's logits at every position, and your sampling draws the lesson's tokens",
            ),
            uses="library ModernLM, trained in the lab; your filters, sampling, rotary positions and cached step",
        ),
        Task(
            lab_id="modern-lm", filename="modern_lm.py", module="modern_lm", dataset="text",
            functions=(
                _fn("rmsnorm_forward", "x", "g", "eps"),
                _fn("rmsnorm_backward", "dout", "x", "g", "eps"),
                _fn("swiglu_forward", "x", "W1", "W3", "W2"),
                _fn("swiglu_backward", "dout", "x", "W1", "W3", "W2"),
                _fn("rope_forward", "x", "positions", "theta"),
                _fn("rope_backward", "dout", "positions", "theta"),
                _fn("rope_attention", "q", "k", "v", "positions", "theta"),
            ),
            checks=_checks(
                forward={"rmsnorm_forward": 8, "swiglu_forward": 8, "rope_forward": 10, "rope_attention": 10},
                gradient={"rmsnorm_backward": 12, "swiglu_backward": 12, "rope_backward": 8},
                structure=10, train=22,
                train_title="a modern block built from your RMSNorm, SwiGLU and rotary attention learns "
                            "Shakespeare's characters (validation loss <= 2.40)",
            ),
        ),
    )
}


def get_task(lab_id: str) -> Task:
    """The task of an implement-mode lab; a KeyError that lists the labs that have one."""
    try:
        return TASKS[lab_id]
    except KeyError:
        raise KeyError(f"lab {lab_id!r} has no build task; labs that do: {', '.join(TASKS)}") from None
