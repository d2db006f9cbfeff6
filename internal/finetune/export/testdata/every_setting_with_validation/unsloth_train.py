#!/usr/bin/env python3
"""LoRA fine-tune of Qwen/Qwen2.5-0.5B-Instruct with Unsloth, written by tunelab.

Run it from this directory:  python unsloth_train.py
The adapter is saved to outputs/lora/ (adapter_config.json, adapter_model.safetensors).
"""

# Unsloth must be imported before transformers and trl: it patches them.
from unsloth import FastLanguageModel
from datasets import load_dataset
from trl import SFTConfig, SFTTrainer

BASE_MODEL = "Qwen/Qwen2.5-0.5B-Instruct"
TRAIN_FILE = "data/train.jsonl"
VALID_FILE = "data/valid.jsonl"
OUTPUT_DIR = "outputs/lora"
MAX_SEQ_LEN = 1024
LORA_R = 8
LORA_ALPHA = 16
LORA_DROPOUT = 0.05
TARGET_MODULES = ["q_proj", "v_proj", "gate_proj", "up_proj", "down_proj"]
EPOCHS = 2
LEARNING_RATE = 0.0001
BATCH_SIZE = 2
SEED = 42

model, tokenizer = FastLanguageModel.from_pretrained(
    model_name=BASE_MODEL,
    max_seq_length=MAX_SEQ_LEN,
    dtype=None,  # bf16 where the GPU has it, else fp16
    load_in_4bit=False,  # plain LoRA on full-precision weights, as tunelab imports it
)
model = FastLanguageModel.get_peft_model(
    model,
    r=LORA_R,
    lora_alpha=LORA_ALPHA,
    lora_dropout=LORA_DROPOUT,
    target_modules=TARGET_MODULES,
    bias="none",
    use_gradient_checkpointing="unsloth",
    random_state=SEED,
)


def to_text(batch):
    # Render each conversation with the model's own chat template, the
    # same one the tuned model will be prompted with.
    return {"text": [tokenizer.apply_chat_template(m, tokenize=False) for m in batch["messages"]]}


files = {"train": TRAIN_FILE}
if VALID_FILE:
    files["validation"] = VALID_FILE
data = load_dataset("json", data_files=files)
data = data.map(to_text, batched=True, remove_columns=data["train"].column_names)

trainer = SFTTrainer(
    model=model,
    tokenizer=tokenizer,
    train_dataset=data["train"],
    eval_dataset=data["validation"] if VALID_FILE else None,
    args=SFTConfig(
        dataset_text_field="text",
        per_device_train_batch_size=BATCH_SIZE,
        gradient_accumulation_steps=1,
        num_train_epochs=EPOCHS,
        learning_rate=LEARNING_RATE,
        lr_scheduler_type="cosine",
        warmup_ratio=0.03,
        weight_decay=0.0,
        optim="adamw_8bit",
        logging_steps=1,
        eval_strategy="epoch" if VALID_FILE else "no",
        seed=SEED,
        output_dir="outputs/checkpoints",
        report_to="none",
    ),
)
trainer.train()

# save_pretrained on a PEFT model writes only the adapter.
model.save_pretrained(OUTPUT_DIR)
tokenizer.save_pretrained(OUTPUT_DIR)
print("adapter saved to", OUTPUT_DIR)
