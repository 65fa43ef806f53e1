"""redactor/sinks"""
