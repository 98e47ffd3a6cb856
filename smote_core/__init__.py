"""The SMOTE family in the imbalanced-learn API, instrumented: every sampler reports what it did."""
