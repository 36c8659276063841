"""Hints per lab, from a nudge to nearly the answer, revealed one at a time (`pathlab lab hint LAB [N]`).

They point at the idea and the NumPy tool, never paste the solution: the learner should still write
each line.
"""

from __future__ import annotations

from labs.implement.tasks import get_task

HINTS: dict[str, tuple[str, ...]] = {
    "ffnn-digits": (
        "Start with the shapes. Write each function's input and output shapes next to it; most bugs in "
        "this lab are a transposed matrix or a missing sum, and the shapes reveal both.",
        "linear_forward is one matrix product and one addition: b has shape (D_out,) and NumPy broadcasts "
        "it over the N rows for you.",
        "linear_backward: for dW you need something of shape (D_in, D_out) built from x (N, D_in) and dout "
        "(N, D_out); only one product of the two has that shape. For db, every sample adds its own dout row.",
        "relu_backward: the gradient passes where the input was positive and is blocked elsewhere. "
        "(x > 0) is a boolean mask you can multiply by.",
        "softmax_cross_entropy: subtract logits.max(axis=1, keepdims=True) first. Pick each row's correct "
        "class with fancy indexing, p[np.arange(N), y]. The gradient is p with 1 subtracted at the correct "
        "class, divided by N because the loss is a mean.",
        "sgd_update: descent goes DOWNHILL, against the gradient. If your loss grows during training, "
        "check this sign first.",
        "he_init: the draws already have variance 1; multiplying by a constant c makes the variance c**2. "
        "Which c gives He's variance, and which fan is it, the inputs each unit sums or its outputs?",
        "minibatches: slice the permutation in steps of batch_size with range(0, n, batch_size); a slice "
        "past the end just stops, so the last, shorter batch comes for free. Do not drop it.",
        "momentum_step and adam_step: write the lesson's update equations in order, the running averages "
        "first, then the step. In Adam, t is 1 on the first step, the bias corrections divide by "
        "1 - beta**t, and eps is added after the square root.",
        "train_epoch: it is the lesson's training loop for ONE epoch. Take the batches from minibatches(..., "
        "perm) (the perm you are given, never your own), increase t before each step, and call adam_step once "
        "per parameter, keeping each one's m and v in the lists. Average the batch losses at the end.",
        "accuracy and evaluate: the prediction is argmax along axis 1; the accuracy is the MEAN of a boolean "
        "array. The held-out accuracy uses x_test and y_test only: the training data says how well the "
        "network memorised, not how well it generalises.",
    ),
    "cnn-digits": (
        "Pad first with np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad))): after that every output "
        "position has a full K x K window inside the padded image.",
        "sliding_window_view(xp, (K, K), axis=(2, 3)) gives every window at once, shape (N, C, Ho, Wo, K, K), "
        "without copying. Contract it with W (F, C, K, K) over c and the two kernel axes, e.g. np.einsum "
        "with 'nchwuv,fcuv->nfhw'.",
        "conv2d_backward: db sums dout over everything but the filter axis. dW contracts the same windows "
        "with dout over n and the two output axes.",
        "dx: pad dout by K - 1 - pad on each side, take its K x K windows, and contract them with the "
        "filters turned by 180 degrees, W[:, :, ::-1, ::-1], over f and the kernel axes.",
        "maxpool: reshape (N, C, H, W) to (N, C, H/s, s, W/s, s) and take the max over axes 3 and 5. "
        "For the backward pass, find each block's argmax and send that block's dout only there.",
        "flatten_forward is one reshape that keeps the batch axis: x.reshape(len(x), -1). Do not transpose "
        "first: the head's weights expect channel, row, column order. flatten_backward is the reverse reshape.",
        "head_forward and head_backward are the linear layer of Feed-forward networks again: one product "
        "plus a broadcast bias forward; backward, dfeats goes through W.T, dW pairs feats.T with dout, db "
        "sums dout over the batch.",
    ),
    "rnn-chars": (
        "rnn_step_forward is one line: the affine map of x plus the affine map of h_prev, through np.tanh.",
        "rnn_step_backward: the derivative of tanh can be written with its OUTPUT: 1 - h**2. Multiply dh "
        "by it to get the gradient before the tanh, then treat x @ Wx and h_prev @ Wh like two linear layers.",
        "rnn_forward: loop over t, keeping the current state in a variable; allocate hs once with np.empty "
        "and fill hs[:, t] each step.",
        "rnn_backward: walk t backwards from T - 1 to 0 with a running dh_next (zeros at the start). The "
        "gradient at step t is dhs[:, t] + dh_next; rnn_step_backward returns the next dh_next as dh_prev.",
        "Wx, Wh and b are used at every step, so add up their per-step gradients. The dh_prev left after "
        "step 0 is dh0.",
        "clip_by_global_norm: ONE norm for all the arrays, the square root of the sum of every squared entry "
        "of every array. Scale all of them by the same max_norm / norm, and only when norm > max_norm; "
        "return the norm you measured before scaling as well.",
        "sample_next: temperature 0 is a special case (np.argmax, u unused). Otherwise divide the logits, not "
        "the probabilities, by the temperature; subtract the largest scaled logit before np.exp, then walk "
        "np.cumsum of the probabilities to the first entry above u.",
    ),
    "transformer-chars": (
        "Scores first: q @ k.transpose(0, 2, 1) is (N, T, T). Divide by np.sqrt(d), d = q.shape[-1].",
        "The causal mask is np.triu(np.ones((T, T), dtype=bool), k=1): True where s > t. Set those scores "
        "to -np.inf with np.where; exp(-inf) is exactly 0.",
        "Softmax over the last axis, after subtracting each row's max. Then out = P @ v.",
        "attention_backward: recompute P the same way. dv = P^T @ dout and dP = dout @ v^T, with the last "
        "two axes transposed in a batched way (.transpose(0, 2, 1)).",
        "Through a softmax row, dS = P * (dP - (dP * P).sum(axis=-1, keepdims=True)). Remember the 1/sqrt(d) "
        "when going from dS to dq = dS @ k and dk = dS^T @ q.",
        "split_heads: reshape (N, T, C) to (N, T, H, C // H) so each position's features are cut into heads, "
        "then .transpose(0, 2, 1, 3). merge_heads undoes both steps in the opposite order.",
        "In the block, reshape the (N, H, T, d) heads to (N * H, T, d) and your attention_forward treats "
        "each head as one more sequence. Write a small layer-norm helper (and its backward) first.",
        "block_backward: go through the forward pass in reverse. At each residual sum the gradient goes "
        "on unchanged AND through the branch, so dh = dout + (the MLP branch's gradient), then dx = dh + "
        "(the attention branch's gradient); merge_heads is split_heads' backward and vice versa.",
    ),
    "model-size": (
        "Count a layer as its weights plus its biases, separately. A bias has one number per OUTPUT, and "
        "bias=False means there is none.",
        "A convolution has one k x k filter per (input channel, output channel) pair; the image size, "
        "stride and padding never enter the count. Heads split attention's width and add no weights.",
        "transformer_parameters: write one block as a sum of your own functions (two LayerNorms, attention, "
        "the MLP's two Linears), multiply by n_layer, then add both embeddings, the final LayerNorm and the "
        "head. Tied: the head's matrix is the token table you already counted.",
        "FLOPs: an (m, k) @ (k, n) product does m * n dot products of length k, k multiply-adds each, and a "
        "multiply-add is 2 FLOPs. Per token, each weight matrix a token goes through costs 2 FLOPs per weight.",
        "The exact count adds attention's context term: in every layer each query takes a dot product with "
        "all `context` keys, and then a weighted sum of all `context` value vectors, both dim long.",
        "Training is the forward pass plus a backward pass about twice as costly. Memory: a float32 is 4 "
        "bytes (32 bits), float16 and bfloat16 2; gradients take one number per weight, Adam two more; "
        "activations: the input and every layer's output, per example, times the batch.",
    ),
    "scaling-laws": (
        "Take logarithms: with x = log(n) and y = log(loss - E) the law is the straight line "
        "y = log(A) - alpha * x. np.polyfit(x, y, 1) returns its slope and intercept.",
        "Refuse bad input before the logarithm: if any loss <= E, raise ValueError saying so.",
        "fit_power_law: E is unknown, but for each candidate E in [0, min(loss)) fit_fixed_floor gives A and "
        "alpha. Score each candidate by the sum of squared log-space residuals, "
        "log(loss) - log(predict_loss(n, E, A, alpha)), and keep the best.",
        "A grid of a few hundred values of E is not precise to 4 digits: search again between the best grid "
        "point's neighbours, a few rounds, each narrowing the interval.",
        "Keep E = 0 in the search: losses with no floor fit best there. Leaving E out altogether (log loss "
        "against log n) bends the line on data that has a floor and gives too small an exponent.",
    ),
    "gd-linear": (
        "Write the shapes down: X (N, D), w (D,), the residual X @ w + b - y (N,). Every function here is "
        "one or two lines of whole-array NumPy.",
        "mse_gradient: the worked example in the lesson gives both gradients. dw must have one entry per "
        "feature, so X enters transposed; the 2 comes from the square and the 1/N from the mean.",
        "gd_step: descent goes DOWNHILL, against the gradient. If your losses grow, check this sign first.",
        "gradient_descent: start the curve with the loss at the starting point, then per step: gradient, "
        "step, new loss appended. Test for divergence and for a change below tol right after appending.",
        "A loop of `for _ in range(max_steps)` can never run forever; return from inside it when a reason to "
        "stop appears, and return 'max_steps' after it. np.isfinite catches inf and NaN in one test.",
    ),
    "backprop-spirals": (
        "forward is two lines; keep h, the output of the tanh, because backward needs it.",
        "backward starts at the loss: the gradient of the mean softmax cross-entropy with respect to the "
        "logits is the softmax with 1 subtracted at each correct class, divided by N. Divide only there.",
        "From dlogits, the second layer is a linear layer: dW2 pairs h with dlogits, db2 adds up dlogits' rows. "
        "Going back through W2 gives the gradient with respect to h.",
        "tanh's derivative, written with its output, is 1 - h**2: multiply the gradient w.r.t. h by it "
        "elementwise before the first layer. db1 is a sum over the batch, shape (H,).",
        "grad_check: loop over np.ndindex(x.shape); save the entry, set it to old + eps and to old - eps "
        "in turn, evaluate f each time, then put the old value back before moving on.",
        "The normwise error is one number for the whole array: np.linalg.norm of the difference over the "
        "sum of the two norms (guarded by a tiny floor so a zero gradient does not divide by 0).",
    ),
    "classic-vs-deep": (
        "Work in scores z = X @ w + b as long as you can: probabilities near 0 or 1 get rounded, and their "
        "logarithms are where a logistic regression's numbers break.",
        "sigmoid: exp(-|z|) is at most 1, so it never overflows. For z >= 0 use 1 / (1 + exp(-z)); for "
        "z < 0 multiply top and bottom by exp(z). np.where picks per entry.",
        "bce_loss: -log(sigmoid(z)) = log(1 + exp(-z)), and np.logaddexp(0, z) is log(1 + exp(z)) without "
        "overflow. Write the per-sample loss in z, then take the mean.",
        "The gradient of the cross-entropy with respect to the score z is simply p - y, no p(1 - p) "
        "factor (that belongs to the squared error). Then dw pairs X with it, and both divide by N.",
        "predict: p >= 0.5 exactly when z >= 0, so you need no sigmoid; .astype(np.int64) gives the class.",
        "decision_boundary: solve w[0] * x1 + w[1] * x2 + b = 0 for x2.",
    ),
    "transfer-digits": (
        "shift_images: no loop. rows = np.arange(H)[None, :] - dy[:, None] is every image's source rows at "
        "once; do the same for the columns, gather with images[np.arange(N)[:, None, None], 0, rows, cols] "
        "(clipped into range), and set to 0 where the source fell outside.",
        "rotate_images: build u and v, the offsets from the centre ((H - 1) / 2, (W - 1) / 2), not from pixel "
        "(0, 0), and np.deg2rad the angles. The source coordinates are (N, H, W) arrays; np.floor gives the "
        "top-left neighbour and the fractional parts give the four bilinear weights.",
        "add_noise: x + sigma * z, then np.clip to [0, 1].",
        "augment_batch: index the images AND the labels with the same permutation first; the k-th amounts "
        "belong to the k-th image of the shuffled batch. Then shift, rotate, noise, with your own functions.",
        "training_and_test: the test images and labels come back exactly as they went in.",
        "freeze_mask: True means TRAINS. For 'head', only the names that start with the head's prefix.",
        "finetune_step: for a frozen parameter append copies of p and v and go on; weight decay and an old "
        "velocity would both move it. For the others: v = momentum * v + g, then the decoupled decay.",
    ),
    "capstone-ml-engineer": (
        "Every function here is a decision, not a layer: the grader trains the library's ConvNet, but "
        "only with the data, rates, stopping point and report your functions give it.",
        "stratified_split: loop over the classes (np.unique). labels[permutation] lists the labels in the "
        "shuffled order, so a boolean mask on it picks one class's indices in that order; the first "
        "round(val_fraction * count) of them validate. np.setdiff1d gives the rest, already sorted.",
        "A validation index must never also be a training index: the model would be graded on digits it "
        "has already seen. Check np.intersect1d(train_idx, val_idx) is empty.",
        "lr_schedule: count steps from 0. The warm-up's step k runs at (k + 1) / warmup_steps of the base "
        "rate, so step 0 already moves and step warmup_steps - 1 reaches base_lr. After it, the cosine's "
        "progress is the share of the post-warm-up steps already taken: 0 at its first step, just below 1 at "
        "the last.",
        "early_stopping: judge by the VALIDATION loss (the training loss keeps falling while the model "
        "overfits). np.argmin returns the earliest of equal values; the epochs waited are the epochs after "
        "the best one, and you stop once they reach patience.",
        "evaluate: the interval describes what the TEST accuracy says about unseen data, so it uses the "
        "test accuracy and the test set's size n. Look up the Wilson score interval: a centre pulled "
        "towards 1/2 by z**2 / (2n), and a half-width with z**2 / (4n**2) under the root, both over 1 + z**2 / n.",
    ),
    "capstone-research-scientist": (
        "The grader trains the networks; you decide what their accuracies mean. Each seed is one draw of "
        "the noise, so the job is to measure that noise before you call an effect real.",
        "summarise: a few seeds are a sample, not the population, so their spread divides by n - 1 "
        "(np.std has a ddof argument). One seed shows no spread at all: say nan, not 0.",
        "effect: compare the MEANS of the arms, never one run of each. The standard error of a difference "
        "of two independent means adds their variances, each divided by its own number of seeds, then "
        "takes one square root.",
        "verdict: t is the effect in units of its standard error. An effect can hurt as well as help, so "
        "look at its size, abs(t). Without a finite, non-zero error there is no verdict to give.",
        "need_more_seeds: two conditions must BOTH hold before you stop, for both arms. A nan error "
        "compares False with everything, so write the test as 'not below the bound' and nan asks for "
        "more seeds by itself.",
    ),
    "capstone-mlops-engineer": (
        "Operations is about exactness: every function here must notice the smallest difference, because "
        "a difference you round away today is the bug you cannot reproduce tomorrow.",
        "digest: hashlib.sha256() has an update() you can call many times. Feed it, per array, something "
        "that says its dtype and shape, then its raw bytes (tobytes() gives them in C order whatever the "
        "layout). Never hash str(array): NumPy abbreviates large arrays with '...'.",
        "identical: check the counts, then per pair the shape and dtype, then the values with "
        "np.array_equal. Its equal_nan argument makes a NaN in the same place equal. No tolerance.",
        "latency_ms: slice off the warm-up calls, take the median (a single spike moves a mean), and "
        "convert seconds to milliseconds.",
        "regression_gate: two conditions, both inclusive (>=): the absolute floor, and the drop from the "
        "baseline, baseline - candidate, at most max_drop.",
    ),
    "capstone-data-scientist": (
        "The grader trains both models; your functions decide what their held-out counts are allowed to "
        "claim. Write each one as the statistic you would defend to a sceptical reviewer.",
        "holdout_split: the first round(val_fraction * n) entries of the permutation are held out, the "
        "rest train; slicing gives both, and np.sort orders them. Nothing may be in both parts.",
        "wilson_interval: look up the Wilson score interval. Its centre is pulled from p towards 1/2 by "
        "z**2 / (2n); its half-width has z**2 / (4n**2) under the root; both are divided by 1 + z**2 / n.",
        "ab_test: under the null hypothesis the two models are one accuracy, so the standard error uses "
        "the POOLED count (correct_a + correct_b) / (n_a + n_b). The two-sided p-value of the standard "
        "normal is math.erfc(abs(z) / math.sqrt(2)).",
        "conclusion: only a gap between the intervals is evidence: b is better when b's LOWER bound is "
        "above a's UPPER bound; touching or overlapping intervals are not separated.",
    ),
    "capstone-cv-engineer": (
        "The grader trains the ConvNet; you decide what it sees (the augmentation) and how its mistakes "
        "are counted (the metrics). Both must be exact, or the model learns from, or is judged on, "
        "something else.",
        "shift: start from np.zeros_like(images) and copy a slice of the input into a slice of the output. "
        "Moving right by one means output column c + 1 gets input column c; the last two axes are rows "
        "(dy) and columns (dx). np.roll would wrap the ink around to the other edge.",
        "augment_batch: copy the batch, then for each choice k from 1 to 4 pick the images with that "
        "choice (a boolean mask) and replace them by their shift. Choice 0 keeps the image.",
        "confusion_matrix: rows are the true class, columns the prediction. counts[y_true, y_pred] += 1 "
        "counts a repeated pair only once; np.add.at adds every one.",
        "per_class_metrics: the diagonal holds the hits. Precision divides them by how often each class "
        "was PREDICTED (a column sum), recall by how often it is TRUE (a row sum). F1 is the harmonic mean. "
        "np.divide with out= and where= gives 0 where the denominator is 0.",
    ),
    "capstone-ai-product-manager": (
        "A product manager's estimate is a formula of the design, not a measurement. Write each as the "
        "rule you would put on a slide, and keep the units straight.",
        "estimate_parameters: a block has attention (four dim x dim projections) and an MLP 4 x dim wide "
        "(two matrices between dim and 4 dim). Then add what is outside the blocks: one vector per "
        "vocabulary entry, one per position, and the output layer back to the vocabulary.",
        "training_cost: a training token costs about 6 FLOPs per parameter (2 forward, 4 backward). "
        "FLOPs over the rate is seconds; a price per hour needs hours.",
        "training_memory_mb: Adam keeps four numbers per parameter (weights, gradients, m, v). An MB here "
        "is 10**6 bytes, not 2**20.",
        "serving_latency_ms: generating runs only the forward pass, about 2 FLOPs per parameter per "
        "token, once per token generated; seconds times 1000 are milliseconds.",
    ),
    "capstone-llm-engineer": (
        "The grader trains the library's modern LM on BPE tokens; your four functions decide what it reads, "
        "how fast it moves, how its loss is quoted and how it writes.",
        "windows: build one (B, seq_len) array of positions, starts[:, None] plus a row of 0 .. seq_len - 1, "
        "and index ids with it. The targets are the same positions moved one token on.",
        "lr_at: count steps from 0. The warm-up's step k runs at (k + 1) / warmup_steps of base_lr. After it, "
        "the cosine's progress is the share of the post-warm-up steps already taken (0 at the first, just "
        "below 1 at the last), and it moves between base_lr and final_lr, not 0.",
        "loss_report: a bit is ln 2 nats. Bits per CHARACTER spread the tokens' TOTAL nats over n_chars "
        "characters; perplexity is per TOKEN, e to the mean of token_nats.",
        "sample_next: to keep exactly top_k ids when logits tie, rank them (a stable argsort of -logits) "
        "rather than comparing to the k-th largest value; set the others to -inf. Then divide by the "
        "temperature, softmax (subtract the max, exponentiate, divide by the sum), and search the cumulative "
        "sum for u.",
    ),
    "bpe-tokens": (
        "Everything is an int64 array: a position's token id and the pre-token it belongs to. A pair may be "
        "merged only when both of its positions carry the same word id.",
        "pair_counts: the pairs are ids[:-1] and ids[1:] side by side, kept where word_ids[:-1] == word_ids[1:]. "
        "np.unique(..., axis=0, return_counts=True) sorts and counts the rows in one call.",
        "best_pair: first find the highest count; only among the pairs that have it, compare the tuples "
        "(bytes of a, bytes of b). Python's max over such tuples is the lexicographic comparison you want; "
        "token t's bytes are bytes(flat[offsets[t]:offsets[t + 1]]).",
        "merge_pair: walk the positions with an index i. Where (a, b) starts at i inside one word, write new_id "
        "and jump by 2; otherwise copy ids[i] and step by 1. The jump is what makes a a a become new a.",
        "encode_word: collect the adjacent pairs that are merges, take the one with the lowest rank r (its "
        "row in merges), replace all its occurrences left to right by 256 + r, and repeat until none is left.",
        "decode: b''.join the tokens' bytes first and call .decode('utf-8', errors='replace') once at the end; "
        "a character split across two tokens is only valid when its bytes are together.",
    ),
    "optimisers": (
        "Every rule is two or three lines straight from the lesson: update the state first, then the weight "
        "from the NEW state. Return new arrays; p - lr * g already is one.",
        "momentum_step: the velocity sums gradients, v = mu * v + g, with no rate inside it; the rate "
        "multiplies the velocity in the step. The checker changes lr between steps, so the difference shows.",
        "nesterov_step: the same velocity as momentum_step; the step adds the look-ahead, lr * (g + mu * v).",
        "rmsprop_step and adam_step: eps goes AFTER the square root, np.sqrt(s) + eps. In Adam, t is 1 on the "
        "first step and the corrections divide by 1 - beta ** t; m and v themselves are returned uncorrected.",
        "adamw_step: shrink the weight first, p * (1 - lr * wd), then take adam_step on the gradient alone; "
        "never add wd * p to g.",
        "lr_schedule: below warmup_steps return base_lr * (step + 1) / warmup_steps; after it, count k from 0 "
        "at the end of the warm-up and run the cosine over the total_steps - warmup_steps that are left.",
    ),
    "deep-nets": (
        "batchnorm_forward: x.mean(axis=0) and x.var(axis=0) are the batch's statistics per column; np.var "
        "divides by N, which is the forward pass's biased variance. eps goes inside the square root.",
        "The running statistics move a fraction momentum towards the batch's: (1 - momentum) * old + momentum * "
        "new, and for the variance 'new' is the unbiased var * N / (N - 1). Return new arrays.",
        "Evaluation mode (training=False) normalises with running_mean and running_var and returns them "
        "unchanged: then a batch of one gives the same row as the whole batch.",
        "batchnorm_backward: recompute x_hat and 1 / sqrt(var + eps) from x. dbeta sums dout over the batch, "
        "dgamma sums dout * x_hat; dx is the lesson's formula with both sums, not gamma * dout / sigma alone.",
        "residual_forward: keep the branch's pre-activation a = x @ W1 + b1 and the sum s = x + relu(a) @ W2 + "
        "b2; both ReLU masks are needed in the backward pass.",
        "residual_backward: ds = dout * (s > 0); the skip sends ds straight to x, and the branch's backward "
        "(through W2, the mask a > 0 and W1) adds to it: dx = ds + ...",
    ),
    "decoding-sweep": (
        "Every filter returns logits of the same shape with the excluded entries at -np.inf, never 0: "
        "exp(0) is 1, so a zero would still be drawn.",
        "top_k_filter: the k-th largest value of a row is np.sort(logits, axis=-1)[..., -k]; keep every logit "
        ">= it (keepdims or [..., None] makes it broadcast). Ties at the cut are then kept together.",
        "top_p_filter: softmax the row, then for each token add up the probabilities of the tokens STRICTLY "
        "more likely than it. Keep it when that sum is below p: the token that crosses p is kept.",
        "sample_token: temperature first (divide), then top-k, then top-p, then softmax and np.cumsum; the "
        "token is the number of cumulative values below u. Temperature 0 returns np.argmax before any of it.",
        "rope_rotate: the angles are positions[:, None] * theta ** (-np.arange(0, d, 2) / d), shape (T, d/2). "
        "x[..., 0::2] and x[..., 1::2] are the pairs; write both outputs from the ORIGINAL x.",
        "cached_attention: concatenate the cache and the new keys along axis 1, then mask with "
        "key_position <= L + query_index. cached_step: the new positions are np.arange(L, L + Tn), never "
        "np.arange(Tn).",
    ),
    "modern-lm": (
        "rmsnorm_forward: (x * x).mean(axis=-1, keepdims=True) is one number per row; add eps BEFORE np.sqrt. "
        "No mean is subtracted, and g multiplies at the end.",
        "rmsnorm_backward: call r = 1 / sqrt(mean(x^2) + eps) and x_hat = x * r. r depends on x, so dx has two "
        "parts: the direct one, r * dout * g, and one along x_hat weighted by the row mean of dout * g * x_hat.",
        "dg and every weight gradient sum over ALL leading axes: reshape to (-1, last) before the product or "
        "the sum, as x.reshape(-1, x.shape[-1]).",
        "swiglu: keep a = x @ W1 and b = x @ W3. The gate b scales SiLU(a), and SiLU(a) scales b: each one's "
        "gradient is dh times the other. SiLU's slope is s * (1 + a * (1 - s)) with s the sigmoid of a.",
        "rope_forward: the angles are positions[:, None] * theta ** (-np.arange(0, d, 2) / d), shape (T, d/2); "
        "x[..., 0::2] and x[..., 1::2] are the pairs. Write both outputs from the ORIGINAL pairs.",
        "rope_backward is rope_forward by the opposite angle: the same code with the sine's sign flipped.",
        "rope_attention: rope_forward on q and on k, never v; then the causal attention of Attention and large "
        "models (np.triu(..., k=1) masks the future to -inf) on the rotated q and k.",
    ),
}


def hints_for(lab_id: str) -> tuple[str, ...]:
    """The lab's hints in order (KeyError naming the labs with implement mode for an unknown lab)."""
    get_task(lab_id)
    return HINTS[lab_id]
