client = OpenAI(api_key="sk-{20}T3BlbkFJ{20}")
key = "AIza{35:b64url}"
lf = "sk-lf-{8:hex}-{4:hex}-{4:hex}-{4:hex}-{12:hex}"
