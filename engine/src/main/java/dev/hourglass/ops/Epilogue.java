package dev.hourglass.ops;

/** What a linear layer does with {@code A x W^T + bias} before it lands in the output. */
public enum Epilogue {
    /** {@code C = A W^T + b}. */
    NONE,
    /** {@code C = gelu(A W^T + b)}, exact (erf) GELU. */
    GELU,
    /** {@code C = C + A W^T + b}: a residual connection, updated in place. */
    RESIDUAL,
    /** {@code C = max(A W^T + b, 0)}: ReLU (a convolutional stem's activation). */
    RELU
}
