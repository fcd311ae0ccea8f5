"""Full fine-tuning: every parameter trains (rows of tokens added for the template included)."""


def apply(model, method_cfg, train_cfg, new_token_ids=()):
    for p in model.parameters():
        p.requires_grad_(True)
    return model
