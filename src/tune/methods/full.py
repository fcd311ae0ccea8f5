"""Full fine-tuning: every parameter trains."""


def apply(model, method_cfg, train_cfg):
    for p in model.parameters():
        p.requires_grad_(True)
    return model
