"""The model calls: the one diffusers text-to-image call, cross-request batching, stochastic candidates,
previews of the latents, the captioner, CLIP and the prompt-expansion language models."""
