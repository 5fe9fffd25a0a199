"""The 2019 lab's 23 questions: where each is answered, what it asks, and what 2019 wrote.

2019's report labels eleven of its answers with their numbers (1, 2, 3, 6, 7, 10, 15, 17, 21, 22,
23); the others are placed by where they stand in its text, between those labels. Questions 8,
11, 18 and 19 are steps of the assignment (train a model, prepare data) under which 2019 printed
code and no sentence: ``NOT_PRINTED`` says so. Quotes are 2019's words exactly, its spelling
kept; ``[…]`` marks where a long answer is cut.
"""

from __future__ import annotations

from dataclasses import dataclass

NOT_PRINTED = "(code only; no answer printed)"


@dataclass(frozen=True)
class Question:
    number: str  # "Q4-5": 2019's report answers questions 4 and 5 in one sentence
    section: str  # the exercise (run name) whose section answers it, or "playground", "paper"
    asked: str  # the question, in our words
    said_2019: str  # 2019's answer, verbatim, or NOT_PRINTED

    @property
    def in_short(self) -> str:
        """2019's answer in a few words of ours (not a quote), for the table of answers."""
        return IN_SHORT[self.number]


QUESTIONS = (
    Question("Q1", "dense_mnist", "What is automatic recognition of handwritten digits for?",
             "Automatic recognition of hand-written numbers can be useful for digitalising any "
             "written source that contains numbers. There are many examples: student numbers on "
             "exams, hand-written spreadsheets, phone numbers, dates etcetera."),
    Question("Q2", "dense_mnist", "How long does an epoch take?",
             "(a sentence left unfinished: \u201cSee output at Xs Yus/sample where\u201d)"),
    Question("Q3", "dense_mnist", "What does the training history show?",
             "(the history printed as a table and plotted)"),
    Question("Q4-5", "dense_mnist", "Does the dense network generalise?",
             "The model performs similar on training and out of training data. It generalises "
             "well."),
    Question("Q6", "dense_mnist", "Is its accuracy high enough?",
             "The accuracy is not high enough for applications that can have big concequences "
             "when the highest precision is not achieved. However, for less precise tasks the "
             "accuracy may suffice."),
    Question("Q7", "relu_mnist", "Which activation suits the dense network?",
             "Keras dense layers use a linear activation function at default. This means that "
             "there is no threshold activation. A ReLu function does induce some kind of "
             "threshold. […]"),
    Question("Q8", "relu_mnist", "Train with ReLU: what does the history show?", NOT_PRINTED),
    Question("Q9", "relu_mnist", "Does the ReLU network generalise?",
             "The performance on the validation set is a lot lower than the performance on the "
             "trainingset. Probably this model does not generalise as well as the previous "
             "model."),
    Question("Q10", "relu_mnist", "Does it do worse on the test set than the linear network?",
             "Probably this will perform worse on the test set than the previous model. This can "
             "be expected from the performance on the validation set."),
    Question("Q11", "cnn_mnist", "Reshape the images for the convolutional network.",
             NOT_PRINTED),
    Question("Q12-13", "cnn_mnist", "Does the convolutional network generalise?",
             "The performance on the trainingset and the validationset are very similar for this "
             "model. It is generalises better than the previous model, because it performs "
             "similar on training data and out of training data."),
    Question("Q14", "cnn_mnist", "Is its accuracy sufficient?",
             "The accuracy is sufficient for automatic hand-written digit classification in "
             "applications for which 1 mistake in a 100 digits is acceptable. For example postal "
             "codes, phone numbers, age etcetera."),
    Question("Q15", "cnn_dropout_mnist", "What does dropout do?",
             "Applying dropout in the training stage means that nodes are dropped with a certain "
             "probability. In this manner the chances of good performance on training data and "
             "worse performance on test data (overfitting) are reduced."),
    Question("Q16", "cnn_dropout_mnist", "How do the histories with dropout compare?",
             "History of the training and validation sets are even closer than in the previous "
             "models. Training time was about 10 seconds longer on average."),
    Question("Q17", "cnn_dropout_mnist", "Which model generalises better, with or without "
             "dropout?",
             "The models should generalise well, the 2nd one slightly better than the first."),
    Question("Q18", "cifar10_cnn", "Prepare the CIFAR-10 data.", NOT_PRINTED),
    Question("Q19", "cifar10_cnn", "Train the CIFAR-10 network: how well does it do?",
             "(no sentence; its score table printed loss 1.007252, accuracy 0.6429)"),
    Question("Q20", "cifar10_cnn", "How do the curves behave?",
             "The accuracy and loss function seem to take more epochs before they plateau. "
             "Perhaps this is because more information is used for the categorisation and it "
             "takes longer to find patterns in more information."),
    Question("Q21", "cifar10_cnn", "How long does an epoch take?",
             "Each epoch took more than 2 minutes. The network has more layers, and more imput "
             "nodes, and many more connections. […]"),
    Question("Q22", "paper", "Summarise Yamins et al. (2014): goal, approach, results.",
             "Make models that predict IT neuron responses. […] Directed optimisation of the "
             "model was highly correlated with IT predictivity, even though the neural data was "
             "not used to optimise the model."),
    Question("Q23", "playground", "Explain the Playground's settings; which network separates "
             "the spirals?",
             "The minimum spiral recognition network to obtain a test loss of < .1 that I tested "
             "so far consisted of all features and a hidden layer of 3 neurons. […]"),
)  # fmt: skip

# 2019's answers in a few words of ours, "-" where it printed none.
IN_SHORT = {
    "Q1": "digitising written numbers", "Q2": "no number given", "Q3": "a table and a plot",
    "Q4-5": "generalises", "Q6": "not where mistakes cost much", "Q7": "ReLU's threshold helps",
    "Q8": "-", "Q9": "generalises less well than linear", "Q10": "worse than linear (expected)",
    "Q11": "-", "Q12-13": "generalises, better than ReLU", "Q14": "sufficient at 1 in 100",
    "Q15": "reduces overfitting", "Q16": "curves even closer; about 10 s longer",
    "Q17": "dropout slightly better", "Q18": "-", "Q19": "test accuracy 0.6429",
    "Q20": "takes more epochs to plateau", "Q21": "over 2 minutes", "Q22": "summarised",
    "Q23": "all features, 3 neurons",
}  # fmt: skip
BY_NUMBER = {question.number: question for question in QUESTIONS}
