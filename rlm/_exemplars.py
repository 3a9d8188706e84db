"""Worked examples of plans, for choosing a question's operation by embedding similarity.

Written for domains the benchmark does not use (cookbooks, statutes, handbooks, mail archives, rulebooks,
papers, inventories), in the ways people ask: the operation of the nearest examples is the question's.
Nothing here names the words of a particular corpus; adding an example teaches a phrasing, not an answer.
"""

from __future__ import annotations

__all__ = ["EXEMPLARS"]

# (question, op)
EXEMPLARS: list[tuple[str, str]] = [
    # locate / enclosing: where something is, or which unit holds it
    ("Which chapter of the cookbook has the recipe for lemon tart?", "enclosing"),
    ("In which article of the statute is the fine for late filing set?", "enclosing"),
    ("Under which heading does the handbook describe parental leave?", "enclosing"),
    ("Which thread contains the message about the broken printer?", "enclosing"),
    ("Which rule section covers castling?", "enclosing"),
    ("What part of the report discusses the survey response rate?", "enclosing"),
    ("In what folder and file is the invoice template kept?", "enclosing"),
    ("Which paper introduced the attention mechanism?", "enclosing"),
    ("Where is the warranty period mentioned?", "locate"),
    ("Find where the contract talks about termination.", "locate"),
    ("Under what heading is the refund policy listed, and in which part?", "enclosing"),
    ("Which entry of the inventory added the blue lamp?", "enclosing"),
    ("What component was the leak fixed in?", "enclosing"),
    ("Which chapter first mentions the lighthouse keeper?", "enclosing"),
    ("Which edition removed the chapter on knots?", "enclosing"),
    ("Which amendment repealed the curfew?", "enclosing"),
    ("What season introduced the new scoring rule?", "enclosing"),
    ("Which room holds the spare keys?", "enclosing"),
    ("Which notebook defines the cleaning function?", "enclosing"),
    ("Which drawer is the stapler in?", "enclosing"),
    ("In which issue of the magazine did the interview with Ada-7 appear?", "enclosing"),
    ("Which folder contains report Q3-2017?", "enclosing"),
    # count
    ("How many recipes does the desserts chapter contain?", "count"),
    ("How many clauses are listed under article 7?", "count"),
    ("How many items are on the packing list for the camping trip?", "count"),
    ("Count the messages sent in March.", "count"),
    ("What is the number of players allowed per team?", "extract"),
    ("How many amendments were passed in 1998?", "count"),
    ("How many steps does the setup guide list for the router?", "count"),
    ("Number of entries recorded under the 2019 inventory", "count"),
    ("How many games were played in 1987?", "count"),
    ("How many tasks does milestone M-4 include?", "count"),
    ("What is the total number of letters sent by the mayor?", "count"),
    ("How many times was the meeting postponed in total?", "count"),
    ("In how many chapters does the word 'saffron' appear?", "count"),
    ("How many threads mention the broken printer?", "count"),
    ("In how many of the files is the licence header missing?", "count"),
    # argmax / argmin
    ("Which chapter has the most recipes?", "argmax"),
    ("Which article lists the largest number of exceptions?", "argmax"),
    ("What thread got the most replies?", "argmax"),
    ("Which department had the greatest number of hires?", "argmax"),
    ("Which section is the longest in terms of items?", "argmax"),
    ("Which chapter has the fewest recipes?", "argmin"),
    ("Which team scored the least points over the season?", "argmin"),
    ("What heading lists the smallest number of rules?", "argmin"),
    # list
    ("List the ingredients of the pancake recipe.", "list"),
    ("What are all the changes recorded under the spring inventory?", "list"),
    ("Name every clause in article 3.", "list"),
    ("Enumerate the steps of the onboarding checklist.", "list"),
    # extract a named value
    ("Who wrote the message about the holiday party?", "extract"),
    ("Who signed the lease agreement?", "extract"),
    ("When was the trail guide last revised?", "extract"),
    ("What date was the third amendment adopted?", "extract"),
    ("Who is thanked for the translation of chapter two?", "extract"),
    ("What is the access code for the east gate?", "extract"),
    ("What is the secret password for the lab-7 account?", "extract"),
    ("What is the special code for Orchid-22 mentioned in the letter?", "extract"),
    ("What is the hidden value for key K-9 given in the notes?", "extract"),
    ("What phone number is listed for the front desk?", "extract"),
    ("What is the serial number of unit 3B?", "extract"),
    ("Who reported the leak in flat 12?", "extract"),
    ("Which person is credited with the photo on page 4?", "extract"),
    ("What is the boiling point given for the brine?", "extract"),
    ("Whose name is on the permit issued to Ridge-12?", "extract"),
    ("Who approved budget line 42?", "extract"),
    ("What is the email address of the person who filed the complaint?", "extract"),
    ("How long does the dough need to rest?", "extract"),
    ("What priority was the safety recall given?", "extract"),
    # compare
    ("Does chapter two have more recipes than chapter three?", "compare"),
    ("Which came first, the tenancy act or the housing act?", "compare"),
    ("Is the east wing larger than the west wing?", "compare"),
    ("Compare the number of rules in part A and part B.", "compare"),
    # summarise
    ("Summarise what the handbook says about remote work.", "summarise"),
    ("Give an overview of the main points of the report.", "summarise"),
    ("What is the lecture about?", "summarise"),
    ("Describe the changes to the travel policy.", "summarise"),
]
