/**
 * Expedit ("Expediting Large-Scale Vision Transformer for Dense Prediction without Fine-tuning", Liang et al.,
 * NeurIPS 2022): a token clustering layer after block α shrinks the token grid for the remaining blocks, and a token
 * reconstruction layer brings a dense output back to full resolution. Neither has weights; the model's own weights
 * run unchanged. {@link dev.hourglass.reduce.expedit.ExpeditSettings} holds the hyperparameters,
 * {@link dev.hourglass.reduce.expedit.ExpeditPass} applies them to one forward call.
 */
package dev.hourglass.reduce.expedit;
